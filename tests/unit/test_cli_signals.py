"""Stopping a real ``virtaddr`` process: SIGINT, SIGTERM and a closed standard output.

Each test starts ``python -m virtaddr`` in a process group of its own on a batch large enough to
be stopped in the middle, waits until it is under way, sends the signal to the whole group (a
terminal's Ctrl-C) or to the main process alone (a supervisor, ``timeout``, ``kill``), and
checks: the exit status (130 SIGINT, 143 SIGTERM), ``virtaddr: interrupted`` as the only thing
on standard error, every output either absent or complete, no temporary file, no process of
the group left, and that all of it happened within a bound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import virtaddr
from virtaddr.cli import main

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DOMAIN = FIXTURES / "q35-virtio-disks-60.in.xml"  # ~10 ms each: a few seconds for the batch
BAD = FIXTURES / "pc-reject-double-use.in.xml"  # one line on stdout from check
SRC = str(Path(virtaddr.__file__).resolve().parents[1])
# A user's environment: with PYTHONUNBUFFERED, standard output is a raw file whose write may
# be partial, and what is left unwritten when `head` goes away is dropped without an error.
ENV = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"},
    "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
}
BOUND = 20.0  # seconds any stop may take, workers included (a hang fails instead of waiting)


class Run:
    """A ``python -m virtaddr`` process in its own process group, its output collected."""

    def __init__(self, argv: list[str], *, stdin: int | None = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "virtaddr", *argv],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=ENV,
        )
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout)),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: object, into: bytearray) -> None:
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            into.extend(chunk)

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            assert self.proc.poll() is None, f"ended before {what}: {bytes(self.stderr)!r}"
            assert time.monotonic() < deadline, f"never {what}"
            time.sleep(0.02)

    def stop(self, signum: int, *, group: bool) -> float:
        """Send ``signum``; wait (bounded) for the process and its group; the time it took."""
        start = time.monotonic()
        if group:
            os.killpg(self.proc.pid, signum)
        else:
            os.kill(self.proc.pid, signum)
        try:
            self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"still running {BOUND} s after {signal.Signals(signum).name}")
        for reader in self._readers:
            reader.join(timeout=BOUND)
        self.assert_group_gone()
        return time.monotonic() - start

    def assert_group_gone(self) -> None:
        deadline = time.monotonic() + 5
        while True:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, signal.SIGKILL)
                pytest.fail("processes of the group are still alive (workers left behind)")
            time.sleep(0.05)


def batch(directory: Path, count: int, bad_first: bool = False) -> list[Path]:
    directory.mkdir()
    data = DOMAIN.read_bytes()
    paths = []
    if bad_first:
        paths.append(directory / "a-bad.xml")
        paths[-1].write_bytes(BAD.read_bytes())
    for n in range(count):
        paths.append(directory / f"g{n:04d}.xml")
        paths[-1].write_bytes(data)
    return paths


def assigned(tmp_path: Path, *options: str) -> bytes:
    """What a complete run writes for DOMAIN (with ``options``: ``--in-place`` or ``-o``)."""
    work = tmp_path / "expected"
    work.mkdir()
    source = work / "one.xml"
    source.write_bytes(DOMAIN.read_bytes())
    if options == ("--in-place",):
        assert main(["assign", "--in-place", str(source)]) == 0
        return source.read_bytes()
    out = work / "out.xml"
    assert main(["assign", "-o", str(out), str(source)]) == 0
    return out.read_bytes()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def assert_interrupted(run: Run, status: int) -> None:
    assert run.proc.returncode == status, bytes(run.stderr)
    assert bytes(run.stderr) == b"virtaddr: interrupted\n"


@pytest.mark.parametrize(
    ("signum", "group", "status"),
    [
        (signal.SIGINT, True, 130),  # Ctrl-C on a terminal
        (signal.SIGINT, False, 130),  # kill -INT: the workers never see it (the 11-minute hang)
        (signal.SIGTERM, False, 143),
        (signal.SIGTERM, True, 143),
    ],
    ids=["sigint-group", "sigint-main", "sigterm-main", "sigterm-group"],
)
def test_check_in_parallel_stops(tmp_path: Path, signum: int, group: bool, status: int) -> None:
    batch(tmp_path / "in", 600, bad_first=True)
    run = Run(["check", "-j", "2", str(tmp_path / "in")])
    run.wait_until(lambda: b"double use" in run.stdout, "reported the first file")
    took = run.stop(signum, group=group)
    assert_interrupted(run, status)
    assert b"files:" not in run.stderr  # stopped before the end, no summary
    assert took < 10


@pytest.mark.parametrize(
    ("signum", "group", "status"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143), (signal.SIGINT, False, 130)],
    ids=["sigint-group", "sigterm-main", "sigint-main"],
)
def test_assign_out_dir_in_parallel_leaves_only_whole_files(
    tmp_path: Path, signum: int, group: bool, status: int
) -> None:
    expected = assigned(tmp_path)
    inputs = batch(tmp_path / "in", 600)
    out = tmp_path / "out"
    out.mkdir()
    run = Run(["assign", "-j", "2", "--out-dir", str(out), str(tmp_path / "in")])
    run.wait_until(lambda: out.is_dir() and len(list(out.glob("*.xml"))) >= 20, "wrote 20 files")
    run.stop(signum, group=group)
    assert_interrupted(run, status)
    assert leftovers(out) == []
    written = list(out.iterdir())
    assert 20 <= len(written) < len(inputs)
    for path in written:
        assert path.read_bytes() == expected, path


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"]
)
def test_assign_in_place_leaves_each_file_old_or_new(
    tmp_path: Path, signum: int, status: int
) -> None:
    expected = assigned(tmp_path, "--in-place")
    original = DOMAIN.read_bytes()
    inputs = batch(tmp_path / "in", 400)

    def changed() -> int:
        return sum(1 for path in inputs if path.stat().st_size != len(original))

    run = Run(["assign", "--in-place", str(tmp_path / "in")])
    run.wait_until(lambda: changed() >= 10, "replaced 10 files")
    run.stop(signum, group=True)
    assert_interrupted(run, status)
    assert leftovers(tmp_path / "in") == []
    contents = [path.read_bytes() for path in inputs]
    assert all(data in (original, expected) for data in contents)
    assert 10 <= contents.count(expected) < len(inputs)


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"]
)
def test_one_file_from_standard_input(tmp_path: Path, signum: int, status: int) -> None:
    """Stopped while reading: nothing written, not even a temporary file."""
    out = tmp_path / "out.xml"
    run = Run(["assign", "-o", str(out), "-"], stdin=subprocess.PIPE)
    assert run.proc.stdin is not None
    run.proc.stdin.write(DOMAIN.read_bytes()[:500])
    run.proc.stdin.flush()
    time.sleep(0.5)  # under way: reading standard input, which has not ended
    run.stop(signum, group=False)
    run.proc.stdin.close()
    assert_interrupted(run, status)
    assert list(tmp_path.iterdir()) == []


def disk_name(n: int) -> str:
    """``vda``, ..., ``vdz``, ``vdaa``, ...: the n-th virtio disk's target."""
    name = ""
    n += 1
    while n:
        n, letter = divmod(n - 1, 26)
        name = chr(ord("a") + letter) + name
    return "vd" + name


def test_closed_standard_output_is_no_error(tmp_path: Path) -> None:
    """``virtaddr assign big.xml | head -1``: no traceback, no message; 141 as for SIGPIPE."""
    disks = "".join(
        f"<disk type='file'><source file='/d{n}.img'/>"
        f"<target dev='{disk_name(n)}' bus='virtio'/></disk>\n"
        for n in range(650)
    )
    big = tmp_path / "big.xml"
    big.write_text(
        "<domain type='qemu'><name>big</name><memory>65536</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
        f"<devices>\n{disks}</devices></domain>\n"
    )
    assert main(["assign", "-o", str(tmp_path / "out.xml"), str(big)]) == 0
    assert (tmp_path / "out.xml").stat().st_size > 100_000  # more than a pipe holds (64 KiB)
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtaddr", "assign", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline().startswith(b"<domain")
        proc.stdout.close()  # as `head -1` does
        err = proc.stderr.read()
        assert proc.wait(timeout=BOUND) == 141, err
    finally:
        proc.kill()
    assert err == b""


def test_closed_standard_output_stops_a_parallel_batch(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for n in range(300):
        (tmp_path / "in" / f"bad{n:03d}.xml").write_bytes(BAD.read_bytes())
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtaddr", "check", "-j", "2", str(tmp_path / "in")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=ENV,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert b"double use" in proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    try:
        err = proc.stderr.read()
        proc.wait(timeout=BOUND)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 141
    assert err == b""
    run = Run.__new__(Run)
    run.proc = proc
    run.assert_group_gone()


# ---------------------------------------------------------------------------- in the process


def stop_while_creating(signum: int, directory: Path) -> Any:
    """``xmlio._temporary_file``, but hit by ``signum`` the instant it has created a file in
    ``directory``: the one moment the file exists but its name is known to nobody who could
    remove it."""
    from virtaddr.xmldoc import xmlio

    original = xmlio._temporary_file

    def temporary_file(where: str, name: str) -> tuple[int, str]:
        created = original(where, name)
        if where == str(directory):
            os.kill(os.getpid(), signum)  # handled at the next instruction: before the return
        return created

    return temporary_file


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_being_replaced_is_finished_first(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    jobs: str,
) -> None:
    """The signal is held until the replacement is done: whole file, no temporary file."""
    expected = assigned(tmp_path)
    inputs = batch(tmp_path / "in", 6)
    out = tmp_path / "out"
    out.mkdir()
    from virtaddr.xmldoc import xmlio

    monkeypatch.setattr(xmlio, "_temporary_file", stop_while_creating(signal.SIGTERM, out))
    status = main(["assign", "-j", jobs, "--out-dir", str(out), *map(str, inputs)])
    monkeypatch.undo()
    assert status == 143
    assert capsys.readouterr().err == "virtaddr: interrupted\n"
    assert leftovers(out) == []
    written = sorted(out.iterdir())
    assert 1 <= len(written) <= int(jobs)  # each worker finished the file it was writing
    assert all(path.read_bytes() == expected for path in written)


def test_a_worker_killed_alone_is_reported(tmp_path: Path) -> None:
    """Not a stop: the out-of-memory killer, say. Reported, exit 2, the others stopped."""
    batch(tmp_path / "in", 600, bad_first=True)
    run = Run(["check", "-j", "2", str(tmp_path / "in")])
    run.wait_until(lambda: b"double use" in run.stdout, "reported the first file")
    children = Path(f"/proc/{run.proc.pid}/task/{run.proc.pid}/children")
    if not children.exists():
        run.stop(signal.SIGTERM, group=True)
        pytest.skip("this kernel does not list a process's children in /proc")
    os.kill(int(children.read_text().split()[0]), signal.SIGKILL)
    try:
        run.proc.wait(timeout=BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(run.proc.pid, signal.SIGKILL)
        pytest.fail("still running after a worker was killed")
    for reader in run._readers:
        reader.join(timeout=BOUND)
    run.assert_group_gone()
    assert run.proc.returncode == 2
    err = bytes(run.stderr).decode()
    assert err.startswith(
        "virtaddr check: error: a worker process ended unexpectedly (killed by signal 9); "
        "the files not reported above were not processed\n"
    )
    assert "Traceback" not in err


def test_main_in_a_process_leaves_its_signal_handlers_and_alarm(tmp_path: Path) -> None:
    """A program (or a test runner's timeout) calling main keeps its handlers and its timer."""

    def mine(signum: int, frame: object) -> None:  # pragma: no cover - never called
        raise AssertionError("not expected to run")

    old = {signum: signal.signal(signum, mine) for signum in (signal.SIGTERM, signal.SIGALRM)}
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        out = tmp_path / "out.xml"
        assert main(["assign", "-o", str(out), str(DOMAIN)]) == 0
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGALRM) is mine
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in old.items():
            signal.signal(signum, handler)
