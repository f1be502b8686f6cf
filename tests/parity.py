"""Corpus parity: run our assign over the corpus and compare with libvirt's own output.

As a script (from the repository root)::

    .venv/bin/python tests/parity.py                      # both sets, both machine families
    .venv/bin/python tests/parity.py --family q35 --set libvirt-tests
    .venv/bin/python tests/parity.py -q                   # totals only
    .venv/bin/python tests/parity.py --keep out/          # keep our outputs (OUT/SET/NAME.xml)
    .venv/bin/python tests/parity.py --set other-arches/libvirt-tests   # ARM, ppc64, s390x

For each case ``$CORPUS/SET/NAME/input.xml`` (SET: ``libvirt-tests``, ``libvirt-xml2xml``) it calls
``virtaddr.cli.main(["assign", input, "-o", OUT/NAME.xml])`` in this process; a case whose assign
exits non-zero (or raises) has no output and fails. Then it runs the oracle's
``compare-addresses --json --controller-details $CORPUS/SET OUT`` once per set and prints, per set
and per machine family (q35 when ``<os><type machine>`` is ``q35`` or ``pc-q35-*``, else pc),
``files passed: P/N`` and the failing cases with their first problems. Exit status 0 when every
selected case passes, 1 otherwise, 2 when the corpus is missing.

As a module: :func:`run_parity` returns one :class:`CaseResult` per case (used by
``tests/corpus/test_parity.py``). This module also owns the corpus/oracle locations that
``conftest.py`` uses, so that the script needs no pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO = next(p for p in (TESTS_DIR, *TESTS_DIR.parents) if (p / "pyproject.toml").is_file())
FIXTURES_DIR = REPO / "fixtures"
SETS = ("libvirt-tests", "libvirt-xml2xml")
FAMILIES = ("pc", "q35")
# Other guest architectures (issue 10): sets under the corpus, reported per architecture.
OTHER_SETS = ("other-arches/libvirt-tests", "other-arches/libvirt-xml2xml")
ARCH_FAMILIES = ("aarch64", "armv7l", "riscv64", "ppc64", "s390x")
ALL_FAMILIES = FAMILIES + ARCH_FAMILIES

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
if str(REPO / "src") not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(1, str(REPO / "src"))

# Categories virsh prints before libvirt's message; our messages carry the text after them.
LIBVIRT_CATEGORIES = ("XML error: ", "internal error: ", "unsupported configuration: ")


def libvirt_text(message: str) -> str:
    """libvirt's message (as recorded from virsh) without its category: what ours must contain."""
    message = message.strip()
    for category in LIBVIRT_CATEGORIES:
        message = message.removeprefix(category)
    return message


# ---------------------------------------------------------------------------- locations


def corpus_dir() -> Path:
    """Where the corpus is (may not exist): ``$VIRTADDR_CORPUS`` or ``<repo>/../shared/corpus``."""
    env = os.environ.get("VIRTADDR_CORPUS")
    return Path(env) if env else REPO.parent / "shared" / "corpus"


def oracle_dir() -> Path:
    """Where the oracle scripts are: ``$VIRTADDR_ORACLE`` or ``<repo>/../shared/oracle``."""
    env = os.environ.get("VIRTADDR_ORACLE")
    return Path(env) if env else REPO.parent / "shared" / "oracle"


def corpus_missing_reason() -> str | None:
    path = corpus_dir()
    if (path / "libvirt-tests").is_dir():
        return None
    return f"corpus not found at {path}: set VIRTADDR_CORPUS"


def compare_script() -> Path | None:
    """The oracle's compare-addresses (needs no libvirt daemon), or None when absent."""
    path = oracle_dir() / "compare-addresses"
    return path if path.is_file() else None


# ---------------------------------------------------------------------------- cases


def machine_family(domain_xml: Path) -> str:
    """``q35`` when ``<os><type machine>`` is q35 or ``pc-q35-*``, else ``pc``; for the other
    architectures, the architecture (``ppc64le`` counts as ``ppc64``)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        ostype = etree.parse(str(domain_xml), parser).getroot().find("os/type")
    except (OSError, etree.XMLSyntaxError):
        return "pc"
    machine = (ostype.get("machine") if ostype is not None else None) or ""
    arch = (ostype.get("arch") if ostype is not None else None) or ""
    arch = "ppc64" if arch == "ppc64le" else arch
    if arch in ARCH_FAMILIES:
        return arch
    return "q35" if machine == "q35" or machine.startswith("pc-q35-") else "pc"


def corpus_cases(corpus: Path, set_name: str) -> Iterator[tuple[str, Path]]:
    """(NAME, NAME/input.xml) of one corpus set, sorted by name."""
    base = corpus / set_name
    for entry in sorted(base.iterdir()):
        if (entry / "input.xml").is_file():
            yield entry.name, entry / "input.xml"


@dataclass(slots=True)
class CaseResult:
    set_name: str
    name: str
    family: str
    ok: bool = False
    exit_code: int | None = None
    error: str | None = None  # why our assign gave no output (exit status, exception)
    problems: list[str] = field(default_factory=list)  # compare-addresses' problems

    @property
    def case_id(self) -> str:
        return f"{self.set_name}/{self.name}"

    def explain(self, limit: int | None = None) -> str:
        lines = [self.error] if self.error else []
        shown = self.problems if limit is None else self.problems[:limit]
        lines += shown
        if limit is not None and len(self.problems) > limit:
            lines.append(f"... {len(self.problems) - limit} more")
        return "\n".join(lines) or "ok"


def assign_file(src: Path, out: Path) -> tuple[int | None, str | None]:
    """Run our CLI in-process: (exit code, why it failed or None). Never raises."""
    captured = io.StringIO()
    try:
        from virtaddr.cli import main

        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            code = main(["assign", str(src), "-o", str(out)])
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # one crash must not stop the run
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return None, f"exception: {last}"
    if code != 0:
        said = captured.getvalue().strip().splitlines()
        return code, f"assign exited {code}" + (f": {said[0]}" if said else "")
    if not out.is_file():
        return code, "assign exited 0 but wrote no output"
    return code, None


def _brief(row: dict) -> str:
    status, device = row.get("status"), row.get("device")
    if status == "different":
        return f"different {device} ({row.get('expected_text')} vs {row.get('actual_text')})"
    if status == "different-model":
        return f"different-model {device} ({row.get('expected')} vs {row.get('actual')})"
    if status == "missing":
        return f"missing {device} ({row.get('note', '')})"
    return f"{status} {device}" + (f" ({row['note']})" if row.get("note") else "")


def compare_dir(expected_dir: Path, actual_dir: Path) -> dict[str, dict]:
    """compare-addresses --json --controller-details in directory mode: its ``cases`` dict."""
    script = compare_script()
    if script is None:
        raise FileNotFoundError(f"compare-addresses not found in {oracle_dir()}")
    proc = subprocess.run(
        [sys.executable, str(script), "--json", "--controller-details", expected_dir, actual_dir],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"compare-addresses failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)["cases"]


def run_set(
    corpus: Path, set_name: str, out_dir: Path, families: Iterable[str] = ALL_FAMILIES
) -> list[CaseResult]:
    """Assign every case of one set (of the given families) into out_dir and compare."""
    wanted = set(families)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, CaseResult] = {}
    for name, src in corpus_cases(corpus, set_name):
        family = machine_family(src)
        if family not in wanted:
            continue
        res = CaseResult(set_name, name, family)
        res.exit_code, res.error = assign_file(src, out_dir / f"{name}.xml")
        results[name] = res
    if compare_script() is not None:
        compared = compare_dir(corpus / set_name, out_dir)
        for name, res in results.items():
            case = compared.get(name, {"ok": False, "error": "not compared"})
            res.problems = [_brief(p) for p in case.get("problems", [])]
            if case.get("error") and not res.error:
                res.error = case["error"]
            res.ok = bool(case.get("ok")) and res.error is None
    else:  # no oracle checkout: our own comparison, one pair at a time
        from addrcompare import compare_files

        for name, res in results.items():
            actual = out_dir / f"{name}.xml"
            if res.error is None:
                res.problems = compare_files(corpus / set_name / name / "libvirt.xml", actual)
            res.ok = res.error is None and not res.problems
    return list(results.values())


def run_parity(
    corpus: Path | None = None,
    sets: Iterable[str] = SETS,
    families: Iterable[str] = ALL_FAMILIES,
    keep: Path | None = None,
) -> list[CaseResult]:
    """Per-case results for the chosen sets and families (outputs in a temp dir unless keep)."""
    corpus = corpus or corpus_dir()
    families = tuple(families)
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="virtaddr-parity-") as tmp:
        base = keep or Path(tmp)
        for set_name in sets:
            results += run_set(corpus, set_name, base / set_name, families)
    return results


def summary_lines(results: list[CaseResult], quiet: bool = False, show: int = 3) -> list[str]:
    lines = []
    for set_name in dict.fromkeys(r.set_name for r in results):
        for family in ALL_FAMILIES:
            group = [r for r in results if r.set_name == set_name and r.family == family]
            if not group:
                continue
            passed = sum(r.ok for r in group)
            lines.append(f"{set_name} [{family}]: files passed: {passed}/{len(group)}")
            if not quiet:
                for r in group:
                    if not r.ok:
                        why = r.explain(show).replace("\n", "; ")
                        lines.append(f"  FAIL {r.name}: {why}")
    passed = sum(r.ok for r in results)
    lines.append(f"total: files passed: {passed}/{len(results)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=ALL_FAMILIES, action="append", help="only this family")
    ap.add_argument(
        "--set", dest="sets", choices=SETS + OTHER_SETS, action="append", help="only this set"
    )
    ap.add_argument("-q", "--quiet", action="store_true", help="totals only")
    ap.add_argument("--show", type=int, default=3, help="problems shown per failing case")
    ap.add_argument("--keep", type=Path, help="write our outputs to KEEP/SET/NAME.xml")
    args = ap.parse_args(argv)
    reason = corpus_missing_reason()
    if reason:
        print(f"parity: {reason}", file=sys.stderr)
        return 2
    families = args.family or ALL_FAMILIES
    results = run_parity(sets=args.sets or SETS, families=families, keep=args.keep)
    print("\n".join(summary_lines(results, args.quiet, args.show)))
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
