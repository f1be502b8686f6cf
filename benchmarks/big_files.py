"""Big files: ``virtaddr assign --in-place`` and ``-o`` on large domains, as fresh processes.

The domains (:mod:`domains`): a q35 guest with 20 address-less virtio disks and a
``<metadata>`` of 4,600 and of 37,000 entries (0.56 and 4.4 MB: 8x the entries), and a q35
guest with 3,000 disks assigned with ``--grow deep``. Each round runs, in turn:

- **lxml**: a plain lxml parse + write of the same file as a process
  (``etree.parse(IN).write(OUT)``), the baseline;
- **-o**: ``virtaddr assign FILE -o OUT`` (its fsync included);
- **-i**: ``virtaddr assign --in-place FILE`` on a fresh copy of the input (the copy is not
  timed);

and, in this process, the same two commands through ``virtaddr.cli.main`` (no start-up: the
figure that shows how the work grows with the file), in wall and CPU time (this thread's: what
a busy machine disturbs least). Wall times otherwise; medians over the rounds.

    .venv/bin/python benchmarks/big_files.py             # 5 rounds, ~1 min
    .venv/bin/python benchmarks/big_files.py --rounds 9
    .venv/bin/python benchmarks/big_files.py --before /copy/of/old/src --rounds 1  # + an older tree

The last lines: t(37,000 entries) / t(4,600 entries) for each command (in-process and as a
process; target <= 12x), and the 4.4 MB runs against lxml's process (target <= 4x). The results
of ``-o`` and ``--in-place`` are checked to be the same bytes.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import gc
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from domains import q35_disks

OURS = [sys.executable, "-c", "from virtaddr.cli import entry; entry()"]
LXML = [
    sys.executable,
    "-c",
    "import sys; from lxml import etree; etree.parse(sys.argv[1]).write(sys.argv[2])",
]


def run(argv: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def in_process(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``virtaddr.cli.main(argv)`` in this process."""
    from virtaddr.cli import main

    gc.collect()
    out = io.StringIO()
    t0, c0 = time.perf_counter(), time.thread_time()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    elapsed, cpu = time.perf_counter() - t0, time.thread_time() - c0
    assert status == 0, status
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", metavar="SRC", help="also time virtaddr from SRC")
    args = parser.parse_args()
    import virtaddr

    compileall.compile_dir(str(Path(virtaddr.__file__).parent), quiet=1)
    before_env = None
    if args.before:
        compileall.compile_dir(str(Path(args.before) / "virtaddr"), quiet=1)
        before_env = dict(os.environ, PYTHONPATH=str(Path(args.before).resolve()))
    cases = {
        "metadata 4,600": (q35_disks(20, metadata=4600), []),
        "metadata 37,000": (q35_disks(20, metadata=37000), []),
        "3,000 disks, --grow deep": (q35_disks(3000), ["--grow", "deep"]),
    }
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, (text, options) in cases.items():
            source = work / "in.xml"
            source.write_text(text)
            copy, out = work / "copy.xml", work / "out.xml"
            for r in range(args.rounds + 1):
                measured = {
                    "lxml": run([*LXML, str(source), str(out)]),
                    "-o": run([*OURS, "assign", *options, str(source), "-o", str(out)]),
                }
                shutil.copyfile(source, copy)
                measured["-i"] = run([*OURS, "assign", *options, "--in-place", str(copy)])
                assert copy.read_bytes() == out.read_bytes(), "-o and --in-place differ"
                wall, cpu = in_process(["assign", *options, str(source), "-o", str(out)])
                measured["-o in-process"], measured["-o in-proc CPU"] = wall, cpu
                shutil.copyfile(source, copy)
                wall, cpu = in_process(["assign", *options, "-i", str(copy)])
                measured["-i in-process"], measured["-i in-proc CPU"] = wall, cpu
                if before_env is not None:
                    shutil.copyfile(source, copy)
                    measured["-i --before"] = run(
                        [*OURS, "assign", *options, "--in-place", str(copy)], before_env
                    )
                if r:  # round 0 warms the page cache and the bytecode
                    for what, seconds in measured.items():
                        times.setdefault((name, what), []).append(seconds)
            print(f"{name}: {len(text) / 1e6:.2f} MB", flush=True)
    med = statistics.median
    whats = sorted({w for _, w in times}, key=lambda w: (w != "lxml", w))
    print(f"median of {args.rounds} rounds, seconds")
    print(f"  {'':26s}" + "".join(f"{w:>16s}" for w in whats))
    for name in cases:
        row = "".join(f"{med(times[name, w]):16.4f}" for w in whats)
        print(f"  {name:26s}{row}")
    small, big = "metadata 4,600", "metadata 37,000"
    for what in ("-i in-process", "-o in-process", "-i in-proc CPU", "-o in-proc CPU", "-i", "-o"):
        growth = med(times[big, what]) / med(times[small, what])
        print(f"big files: {what}: t(37,000)/t(4,600) = {growth:.2f}x for 8x the entries "
              "(target <= 12x)")  # fmt: skip
    for what in ("-i", "-o"):
        ratio = med(times[big, what]) / med(times[big, "lxml"])
        print(f"big files: {what} on 4.4 MB / lxml parse + write as a process = {ratio:.2f}x "
              "(target <= 4x)")  # fmt: skip
    deep = "3,000 disks, --grow deep"
    for what in ("-i", "-o"):
        ratio = med(times[deep, what]) / med(times[deep, "lxml"])
        print(f"big files: {what} --grow deep, 3,000 disks / lxml as a process = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
