"""Corpus parity: run our assign over the corpus and compare with libvirt's own output.

As a script (from the repository root)::

    .venv/bin/python tests/parity.py                      # both sets, both machine families
    .venv/bin/python tests/parity.py --family q35 --set libvirt-tests
    .venv/bin/python tests/parity.py -q                   # totals only
    .venv/bin/python tests/parity.py --keep out/          # keep our outputs (OUT/SET/NAME.xml)
    .venv/bin/python tests/parity.py --set other-arches/libvirt-tests   # ARM, ppc64, s390x
    .venv/bin/python tests/parity.py --libvirt 11.3 -q    # every libvirt 11.3 set, errors too

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

Each set is run with ``--libvirt`` of the version whose answers it holds: sets under
``libvirt-11.3/`` with 11.3, the others with 9.0. Besides the corpus folders, a set name may be
``libvirt-11.3/SAME-AS-9.0`` (or ``libvirt-11.3/other-arches/SAME-AS-9.0``): the 9.0 cases that
file lists, run with 11.3 and held to their 9.0 answer; and a ``.../libvirt-errors`` set checks
that every case is rejected (exit 1) with libvirt's message.
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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO = next(p for p in (TESTS_DIR, *TESTS_DIR.parents) if (p / "pyproject.toml").is_file())
FIXTURES_DIR = REPO / "fixtures"
"""Golden cases answered by libvirt 9.0 (``fixtures/README.md``); :func:`fixtures_dir` for any."""
ORACLE_VERSIONS = ("9.0", "11.3")
"""The libvirt versions the oracle has a daemon for (``libvirt-assign --libvirt VERSION``), and
so the versions ``fixtures/`` holds answers of."""
SETS = ("libvirt-tests", "libvirt-xml2xml")
FAMILIES = ("pc", "q35")
# Other guest architectures (issue 10): sets under the corpus, reported per architecture.
OTHER_SETS = ("other-arches/libvirt-tests", "other-arches/libvirt-xml2xml")
ARCH_FAMILIES = ("aarch64", "armv7l", "riscv64", "ppc64", "s390x")
ALL_FAMILIES = FAMILIES + ARCH_FAMILIES
# libvirt 11.3 (issue 16): its own corpus folder, with the 9.0 cases whose answer is the same.
V113 = "libvirt-11.3"
V113_SETS = (
    f"{V113}/libvirt-tests",
    f"{V113}/libvirt-xml2xml",
    f"{V113}/generated",
    f"{V113}/SAME-AS-9.0",
    f"{V113}/other-arches/libvirt-tests",
    f"{V113}/other-arches/libvirt-xml2xml",
    f"{V113}/other-arches/SAME-AS-9.0",
)
V113_ERROR_SETS = (f"{V113}/libvirt-errors", f"{V113}/other-arches/libvirt-errors")
SAME_AS = "SAME-AS-9.0"

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


def fixtures_dir(libvirt: str) -> Path:
    """Where the golden cases answered by libvirt ``libvirt`` are: ``fixtures/`` for 9.0 (the
    first version, recorded before there was another), ``fixtures/libvirt-VERSION/`` for the
    others; each holds ``NAME.in.xml`` + ``NAME.out.xml``/``NAME.err`` and ``plan/NAME/``."""
    if libvirt not in ORACLE_VERSIONS:
        raise ValueError(f"no fixtures for libvirt {libvirt} (there are: {ORACLE_VERSIONS})")
    return FIXTURES_DIR if libvirt == ORACLE_VERSIONS[0] else FIXTURES_DIR / f"libvirt-{libvirt}"


def fixture_param(libvirt: str, name: str, known: Mapping[tuple[str, str], str]) -> object:
    """The pytest parameter of fixture ``name`` answered by ``libvirt``: 9.0's cases keep their
    plain names as ids, the others' say their folder; a case in ``known`` (recorded answers ours
    does not give yet, each with why) is a strict xfail, so that a fix shows until its line goes."""
    import pytest

    folder = fixtures_dir(libvirt).relative_to(fixtures_dir(ORACLE_VERSIONS[0]))
    why = known.get((libvirt, name))
    marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
    return pytest.param(libvirt, name, id=str(folder / name), marks=marks)


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


def set_libvirt(set_name: str) -> str:
    """The libvirt version whose answers a set holds."""
    return "11.3" if set_name.startswith(f"{V113}/") else "9.0"


def same_as_cases(corpus: Path, set_name: str) -> Iterator[tuple[str, Path]]:
    """(SET9.NAME, its 9.0 case folder) of a ``.../SAME-AS-9.0`` set: the 9.0 cases whose 11.3
    answer is the 9.0 one (``libvirt-errors`` ones included), sorted by name."""
    listing = corpus / f"{set_name}.tsv"
    base = corpus / set_name.removeprefix(f"{V113}/").removesuffix(SAME_AS)
    rows = [line.split("\t") for line in listing.read_text().splitlines()[1:] if line.strip()]
    for same in sorted({row[1].strip() for row in rows if len(row) > 1}):
        yield same.replace("/", "."), base / same


def corpus_cases(corpus: Path, set_name: str) -> Iterator[tuple[str, Path]]:
    """(NAME, NAME/input.xml) of one corpus set, sorted by name."""
    if set_name.endswith(SAME_AS):
        for name, case in same_as_cases(corpus, set_name):
            if (case / "input.xml").is_file():
                yield name, case / "input.xml"
        return
    base = corpus / set_name
    for entry in sorted(base.iterdir()):
        if (entry / "input.xml").is_file():
            yield entry.name, entry / "input.xml"


def set_present(corpus: Path, set_name: str) -> bool:
    if set_name.endswith(SAME_AS):
        return (corpus / f"{set_name}.tsv").is_file()
    return (corpus / set_name).is_dir()


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


def assign_file(
    src: Path, out: Path, libvirt: str = "9.0", said: list[str] | None = None
) -> tuple[int | None, str | None]:
    """Run our CLI in-process: (exit code, why it failed or None). Never raises. ``said``
    receives what it printed."""
    captured = io.StringIO()
    try:
        from virtaddr.cli import main

        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            code = main(["assign", "--libvirt", libvirt, str(src), "-o", str(out)])
        if said is not None:
            said.append(captured.getvalue())
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
    if set_name.endswith("libvirt-errors"):
        return run_errors(corpus, set_name, out_dir, wanted)
    results: dict[str, CaseResult] = {}
    expected_dir = corpus / set_name
    if set_name.endswith(SAME_AS):  # the expected answers are the 9.0 case folders
        expected_dir = out_dir / "expected"
        expected_dir.mkdir(exist_ok=True)
    for name, src in corpus_cases(corpus, set_name):
        family = machine_family(src)
        if family not in wanted:
            continue
        if src.parent.parent.name == "libvirt-errors":
            results[name] = _rejected(set_name, name, family, src.parent, out_dir)
            continue
        if set_name.endswith(SAME_AS):
            (expected_dir / name).symlink_to(src.parent)
        res = CaseResult(set_name, name, family)
        res.exit_code, res.error = assign_file(src, out_dir / f"{name}.xml", set_libvirt(set_name))
        results[name] = res
    accepted = {n: r for n, r in results.items() if not r.name.startswith("libvirt-errors.")}
    if compare_script() is not None and accepted:  # (a family filter may leave none)
        compared = compare_dir(expected_dir, out_dir)
        for name, res in accepted.items():
            case = compared.get(name, {"ok": False, "error": "not compared"})
            res.problems = [_brief(p) for p in case.get("problems", [])]
            if case.get("error") and not res.error:
                res.error = case["error"]
            res.ok = bool(case.get("ok")) and res.error is None
    else:  # no oracle checkout: our own comparison, one pair at a time
        from addrcompare import compare_files

        for name, res in accepted.items():
            actual = out_dir / f"{name}.xml"
            if res.error is None:
                res.problems = compare_files(expected_dir / name / "libvirt.xml", actual)
            res.ok = res.error is None and not res.problems
    return list(results.values())


def run_errors(
    corpus: Path, set_name: str, out_dir: Path, families: Iterable[str] = ALL_FAMILIES
) -> list[CaseResult]:
    """Every case of a ``libvirt-errors`` set must be rejected (exit 1, nothing written) with
    libvirt's message (less its category) among what assign printed."""
    wanted = set(families)
    results = []
    for name, src in corpus_cases(corpus, set_name):
        family = machine_family(src)
        if family in wanted:
            results.append(_rejected(set_name, name, family, src.parent, out_dir))
    return results


def _rejected(set_name: str, name: str, family: str, case: Path, out_dir: Path) -> CaseResult:
    res = CaseResult(set_name, name, family)
    message = libvirt_text((case / "libvirt-error.txt").read_text())
    out = out_dir / f"{name}.xml"
    said: list[str] = []
    res.exit_code, why = assign_file(case / "input.xml", out, set_libvirt(set_name), said)
    text = "".join(said)
    if res.exit_code != 1:
        res.error = f"exit {res.exit_code}, expected 1 ({why}); libvirt says: {message}"
    elif out.exists():
        res.error = "a rejected domain was written out"
    elif message not in text:
        res.error = f"another message: {text.strip()[:200]}; libvirt says: {message}"
    res.ok = res.error is None
    return res


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
        "--set",
        dest="sets",
        choices=SETS + OTHER_SETS + V113_SETS + V113_ERROR_SETS,
        action="append",
        help="only this set",
    )
    ap.add_argument(
        "--libvirt",
        choices=("9.0", "11.3"),
        default="9.0",
        help="without --set: the sets of this version (9.0: %(default)s's two main sets; 11.3: "
        "every set of the 11.3 corpus, SAME-AS-9.0 and libvirt-errors included)",
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
    default_sets = V113_SETS + V113_ERROR_SETS if args.libvirt == "11.3" else SETS
    results = run_parity(sets=args.sets or default_sets, families=families, keep=args.keep)
    print("\n".join(summary_lines(results, args.quiet, args.show)))
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
