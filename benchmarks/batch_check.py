"""Batch throughput: ``virtaddr check`` over 10,000 domain files, with ``-j 1`` and ``-j N``.

The files are the corpus's ``libvirt.xml`` files (``libvirt-tests`` and ``libvirt-xml2xml``)
copied round-robin into a temporary directory. Each run is the real command line in a fresh
process (start-up included), so the figure is what a user sees. When the ``check`` command is
not there or not batch-capable (yet), ``assign --out-dir`` is measured instead and the output
says so.

    .venv/bin/python benchmarks/batch_check.py              # 10,000 files, -j 1 and -j <CPUs>
    .venv/bin/python benchmarks/batch_check.py -n 1000 -j 2 # smaller, one -j only
    .venv/bin/python benchmarks/batch_check.py --command assign --where /dev/shm  # no disk

The baseline measured in the same run is ``-j 1``; the last line gives the ``-j N`` ratio.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("VIRTADDR_CORPUS", REPO.parent / "shared" / "corpus"))
ENTRY = "from virtaddr.cli import entry; entry()"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("libvirt-tests/*/libvirt.xml"))
    files += sorted(CORPUS.glob("libvirt-xml2xml/*/libvirt.xml"))
    return files


def make_inputs(directory: Path, count: int) -> None:
    sources = itertools.cycle(corpus_files())
    for n in range(count):
        shutil.copyfile(next(sources), directory / f"d{n:05d}.xml")


def has_check() -> bool:
    """True when ``virtaddr check`` exists and takes batch options (directories, ``-j``)."""
    argv = [sys.executable, "-c", ENTRY, "check", "--help"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode == 0 and "--jobs" in proc.stdout


def run(command: str, inputs: Path, out: Path, jobs: int) -> tuple[float, int, str]:
    argv = [sys.executable, "-c", ENTRY, command, "-j", str(jobs), "--no-progress"]
    if command == "assign":
        argv += ["--out-dir", str(out)]
    argv.append(str(inputs))
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    return elapsed, proc.returncode, lines[-1] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="number of files (default 10000)")
    parser.add_argument("-j", type=int, default=0, help="only this -j (default: 1 and CPUs)")
    parser.add_argument("--command", choices=("check", "assign"), default=None)
    parser.add_argument(
        "--where", default=None, help="make the files under this directory (e.g. /dev/shm)"
    )
    args = parser.parse_args()
    if not corpus_files():
        print(f"no corpus at {CORPUS}: set VIRTADDR_CORPUS", file=sys.stderr)
        return 2
    command = args.command or ("check" if has_check() else "assign")
    if command == "check" and not has_check():
        print("virtaddr check takes no directories/-j yet", file=sys.stderr)
        return 2
    if args.command is None and command == "assign":
        print("note: `check` takes no directories/-j yet; measuring `assign --out-dir` instead")
    cpus = os.cpu_count() or 1
    jobs = [args.j] if args.j else sorted({1, cpus})
    with tempfile.TemporaryDirectory(prefix="virtaddr-bench-", dir=args.where) as tmp:
        inputs, out = Path(tmp, "in"), Path(tmp, "out")
        inputs.mkdir()
        out.mkdir()
        make_inputs(inputs, args.n)
        print(f"{args.n} files from {len(corpus_files())} corpus libvirt.xml, {cpus} CPUs")
        times = {}
        for j in jobs:
            elapsed, code, summary = run(command, inputs, out, j)
            times[j] = elapsed
            print(
                f"virtaddr {command} -j {j:<2} {elapsed:7.1f} s  {args.n / elapsed:7.0f} files/s"
                f"  exit {code}  [{summary}]"
            )
        if len(times) > 1:
            top = max(times)
            print(f"-j {top} vs -j 1: {times[1] / times[top]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
