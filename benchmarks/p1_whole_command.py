"""P1: ``virtaddr assign`` as a whole process against getting the same answer from libvirt.

The domain is a q35 guest with 200 address-less virtio disks (:mod:`domains`). Each round runs,
in turn, a fresh ``virtaddr assign FILE`` process (standard output to ``/dev/null``: no ``-o``,
so no fsync in the figure; ``--output-file`` times ``-o OUT`` instead) and libvirt's way to the
answer: ``virsh define`` under a unique name, ``virsh dumpxml --inactive``, ``virsh undefine``
on the live daemon (``qemu:///system``). The ratio is taken pair by pair, A B A B ..., so that
a drift of the machine's speed hits both sides; the median is printed.

    .venv/bin/python benchmarks/p1_whole_command.py            # 20 pairs after 2 warm-ups
    .venv/bin/python benchmarks/p1_whole_command.py -n 40 --output-file
    PYTHONPATH=/some/other/src .venv/bin/python benchmarks/p1_whole_command.py  # another tree
    .venv/bin/python benchmarks/p1_whole_command.py --before /copy/of/old/src  # A, A', B rounds

Bytecode is compiled first (``compileall`` on the package's directory), as an installed
package has it: with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, every run would
compile the whole package again. Wall time is the figure that counts (libvirt's work happens in
the daemon, whose CPU time is shown apart when ``/proc`` lets us read it). The run ends with
the check that our output equals libvirt's on this domain (the oracle's ``compare-addresses
--controller-details``). Needs the oracle's daemon (``../shared/oracle``); without ``virsh``
it says so and exits 2.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from domains import q35_disks

REPO = Path(__file__).resolve().parent.parent
ORACLE = Path(os.environ.get("VIRTADDR_ORACLE", REPO.parent / "shared" / "oracle"))
URI = "qemu:///system"
OURS = [sys.executable, "-c", "from virtaddr.cli import entry; entry()"]


def libvirt_define_dump(xml_path: Path, name: str, uri: str = URI) -> bytes:
    """libvirt's answer for the domain at ``xml_path`` (whose ``<name>`` is ``name``).

    Defines it, dumps the stored inactive XML, undefines it: three ``virsh`` processes.
    """
    virsh = ["virsh", "-q", "-c", uri]
    subprocess.run([*virsh, "define", str(xml_path)], check=True, capture_output=True)
    try:
        out = subprocess.run(
            [*virsh, "dumpxml", "--inactive", name], check=True, capture_output=True
        ).stdout
    finally:
        subprocess.run([*virsh, "undefine", name], check=True, capture_output=True)
    return out


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def daemon_cpu() -> float | None:
    """libvirtd's CPU seconds so far, or None when it cannot be read."""
    try:
        pid = int(Path("/var/run/libvirtd.pid").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(action: object) -> tuple[float, float, float | None]:
    """(wall, CPU of child processes, daemon CPU) of one call of ``action``."""
    cpu0, d0, t0 = children_cpu(), daemon_cpu(), time.perf_counter()
    action()  # type: ignore[operator]
    wall = time.perf_counter() - t0
    d1 = daemon_cpu()
    return wall, children_cpu() - cpu0, None if d0 is None or d1 is None else d1 - d0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=20, help="counted pairs (default 20)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--disks", type=int, default=200)
    parser.add_argument(
        "--output-file", action="store_true", help="time 'assign FILE -o OUT' (fsync included)"
    )
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also time virtaddr from SRC (a 'src' directory, e.g. the previous commit's) in "
        "the same rounds, so that before and after are measured side by side",
    )
    args = parser.parse_args()
    if shutil.which("virsh") is None:
        print("p1: virsh not found: start the oracle (../shared/oracle)", file=sys.stderr)
        return 2
    import virtaddr

    package = Path(virtaddr.__file__).parent
    compileall.compile_dir(str(package), quiet=1)
    before_env: dict[str, str] | None = None
    if args.before:
        compileall.compile_dir(str(Path(args.before) / "virtaddr"), quiet=1)
        before_env = dict(os.environ, PYTHONPATH=str(Path(args.before).resolve()))
    print(f"virtaddr from {package}; Python {sys.version.split()[0]}; {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        name = f"p1-bench-{uuid.uuid4().hex[:12]}"
        ours_in = work / "q35.xml"
        ours_in.write_text(q35_disks(args.disks))
        theirs_in = work / "q35-libvirt.xml"
        theirs_in.write_text(q35_disks(args.disks, name=name))
        out = work / "ours.xml"
        argv = [*OURS, "assign", str(ours_in)]
        if args.output_file:
            argv += ["-o", str(out)]

        def ours() -> None:
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

        def theirs() -> None:
            libvirt_define_dump(theirs_in, name)

        def before() -> None:
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=before_env)

        for _ in range(args.warmup):
            ours()
            theirs()
            if args.before:
                before()
        a: list[tuple[float, float, float | None]] = []
        b: list[tuple[float, float, float | None]] = []
        c: list[tuple[float, float, float | None]] = []
        for _ in range(args.n):
            a.append(measure(ours))
            b.append(measure(theirs))
            if args.before:
                c.append(measure(before))

        mode = f"-o {out.name} (fsync)" if args.output_file else "> /dev/null"
        print(f"q35, {args.disks} virtio disks; {args.n} pairs after {args.warmup} warm-ups")
        print(f"A: virtaddr assign FILE {mode}  (a fresh process each time)")
        print("B: virsh define + dumpxml --inactive + undefine  (three processes + daemon)")
        med = statistics.median
        print(f"  {'':22s}{'A median':>10s}{'B median':>10s}{'A/B':>8s}")
        for label, i in (("wall s", 0), ("CPU s (processes)", 1)):
            ratios = [x[i] / y[i] for x, y in zip(a, b, strict=True) if y[i]]
            print(
                f"  {label:22s}{med(x[i] for x in a):10.4f}{med(y[i] for y in b):10.4f}"
                f"{med(ratios):8.3f}"
            )
        if c:
            ratios = [x[0] / y[0] for x, y in zip(c, b, strict=True)]
            print(
                f"  {'wall s, --before':22s}{med(x[0] for x in c):10.4f}"
                f"{med(y[0] for y in b):10.4f}{med(ratios):8.3f}   (virtaddr from --before SRC)"
            )
        daemon = [y[2] for y in b if y[2] is not None]
        if len(daemon) == len(b):  # clock-tick resolution: the mean over the runs
            with_daemon = statistics.fmean(y[1] + (y[2] or 0.0) for y in b)
            mean_a = statistics.fmean(x[1] for x in a)
            print(
                f"  {'CPU s (+ libvirtd)':22s}{mean_a:10.4f}{with_daemon:10.4f}"
                f"{mean_a / with_daemon:8.3f}   (means: the daemon's ticks are 10 ms)"
            )

        # Same answer? Our output against libvirt's, address by address.
        ours_xml = subprocess.run(
            [*OURS, "assign", str(ours_in)], check=True, capture_output=True
        ).stdout
        (work / "ours-out.xml").write_bytes(ours_xml)
        (work / "libvirt-out.xml").write_bytes(libvirt_define_dump(theirs_in, name))
        compare = ORACLE / "compare-addresses"
        same = subprocess.run(
            [str(compare), "--controller-details", str(work / "libvirt-out.xml"),
             str(work / "ours-out.xml")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        verdict = same.stdout.strip().splitlines()[-1] if same.stdout.strip() else same.stderr
        print(f"output vs libvirt's (compare-addresses --controller-details): {verdict}")
        if c:
            before_wall = med(x[0] / y[0] for x, y in zip(c, b, strict=True))
            print(f"P1 --before SRC / libvirt, wall: {before_wall:.3f}x")
        wall = med(x[0] / y[0] for x, y in zip(a, b, strict=True))
        print(f"P1 virtaddr assign / libvirt define+dumpxml+undefine, wall: {wall:.3f}x "
              "(target <= 0.75)")  # fmt: skip
        return 0 if same.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
