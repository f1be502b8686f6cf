"""Record, then compare, the exact output of every command over the corpus and the fixtures.

A refactor changes no output: record before it, compare after each step.

    python benchmarks/golden_outputs.py record /tmp/golden-before
    python benchmarks/golden_outputs.py compare /tmp/golden-before [--extra '--libvirt 9.0']

Each case is one command line run in-process through ``virtaddr.cli.main``; its exit status,
standard output and standard error are stored in one JSON file. ``compare`` runs them again and
prints the cases that differ (the first differing line of each), then a count; it exits 1 when
any differs. ``--extra`` adds options to every command line (for example the libvirt version,
once the default is not the one the record was made with).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("VIRTADDR_CORPUS", ROOT.parent / "shared" / "corpus"))
FIXTURES = ROOT / "fixtures"

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("assign",),
    ("assign", "--diff"),
    ("check",),
    ("assign", "--grow", "deep"),
    ("topology", "--json"),
)


def fixture_folders() -> list[Path]:
    """``fixtures/`` (libvirt 9.0's answers) and ``fixtures/libvirt-VERSION/`` (each other
    version's, ``fixtures/README.md``)."""
    return [FIXTURES, *sorted(p for p in FIXTURES.glob("libvirt-*") if p.is_dir())]


def domain_inputs() -> list[Path]:
    found = sorted(CORPUS.rglob("input.xml")) if CORPUS.is_dir() else []
    for folder in fixture_folders():
        found += sorted(folder.glob("*.in.xml"))
    found += sorted(
        p for p in FIXTURES.glob("*.xml") if not p.name.endswith((".in.xml", ".out.xml"))
    )
    return found


def plan_cases() -> list[list[str]]:
    cases = []
    plan_dirs = [folder / "plan" for folder in fixture_folders() if (folder / "plan").is_dir()]
    for case in sorted(c for d in plan_dirs for c in d.iterdir()):
        if not case.is_dir():
            continue
        devices = sorted(case.glob("device-*.xml"), key=lambda p: int(p.stem.split("-")[1]))
        detach = ["--detach"] if (case / "detach").is_file() else []
        cases.append(["plan", *detach, str(case / "domain.xml"), *map(str, devices)])
    return cases


def all_cases() -> list[list[str]]:
    cases = [[*command, str(path)] for path in domain_inputs() for command in COMMANDS]
    return cases + plan_cases()


def run_case(argv: list[str]) -> dict[str, object]:
    from virtaddr.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: object = main(argv)
        except BaseException as exc:  # a traceback is an output too
            code = f"raised {type(exc).__name__}: {exc}"
    return {"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def key(argv: list[str]) -> str:
    return " ".join(a.replace(str(ROOT.parent), "") for a in argv)


def run_all(cases: list[list[str]], extra: list[str]) -> dict[str, dict[str, object]]:
    runs = [[c[0], *extra, *c[1:]] if extra else c for c in cases]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run_case, runs, chunksize=16))
    for case, result in zip(cases, results, strict=True):
        result["argv"] = case
    return {key(case): result for case, result in zip(cases, results, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--extra", default="", help="options added to every command line")
    parser.add_argument("--only", default="", help="compare only the cases whose name has this")
    args = parser.parse_args()
    extra = shlex.split(args.extra)
    record = args.directory / "outputs.json"
    if args.action == "record":
        args.directory.mkdir(parents=True, exist_ok=True)
        results = run_all(all_cases(), extra)
        record.write_text(json.dumps(results, indent=0, sort_keys=True))
        print(f"recorded {len(results)} outputs in {record}")
        return 0
    before: dict[str, dict[str, object]] = json.loads(record.read_text())
    before = {name: old for name, old in before.items() if args.only in name}
    after = run_all([v["argv"] for v in before.values()], extra)  # type: ignore[misc]
    differ = 0
    for name, old in before.items():
        new = after[name]
        for field in ("code", "stdout", "stderr"):
            if old[field] != new[field]:
                differ += 1
                a = str(old[field]).splitlines() or [""]
                b = str(new[field]).splitlines() or [""]
                first = next(
                    (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                    min(len(a), len(b)),
                )
                print(f"DIFF {name} [{field}] line {first + 1}:")
                print(f"  - {a[first] if first < len(a) else '<end>'}"[:300])
                print(f"  + {b[first] if first < len(b) else '<end>'}"[:300])
                break
    print(f"{differ} of {len(before)} outputs differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
