"""The progress bar of a batch: on screen throughout a run on a terminal, never elsewhere.

A real ``virtaddr check -j 2`` runs with standard error on a pseudo-terminal; what it writes is
replayed through a minimal terminal (carriage return, erase to end of line, newline) and the
screen's last line is sampled over time: the bar must be on it nearly all the time, not only
between files. The same run on a pipe must draw nothing.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import virtaddr
from virtaddr.commands import batch, progress

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DOMAIN = FIXTURES / "q35-virtio-disks-60.in.xml"
BAD = FIXTURES / "pc-reject-double-use.in.xml"
SRC = str(Path(virtaddr.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
BAR = re.compile(
    r"\[[^\]]*\] (\d+)/(\d+) files +\d+%  ([\d.]+|\?) files/s  \d\d:\d\d elapsed, "
    r"(\d\d:\d\d|\?) left"
)
needs_tqdm = pytest.mark.skipif(
    progress.format_meter() is None, reason="the progress bar needs tqdm (the 'progress' extra)"
)


def batch_dir(directory: Path, count: int) -> Path:
    """``count`` domains, every 25th with a problem (a message to print past the bar)."""
    directory.mkdir()
    for n in range(count):
        source = BAD if n % 25 == 0 else DOMAIN
        (directory / f"g{n:04d}.xml").write_bytes(source.read_bytes())
    return directory


def pty_pair(columns: int = 120) -> tuple[int, int]:
    import pty

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    return master, slave


def read_all(master: int, until: threading.Event) -> Iterator[tuple[float, bytes]]:
    """What arrives on ``master``, with when, until it closes or ``until`` is set and it is idle."""
    while True:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            if until.is_set():
                return
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed (EIO)
            return
        if not chunk:
            return
        yield time.monotonic(), chunk


class Screen:
    """The last line of a terminal: enough for a progress bar and the lines printed past it."""

    def __init__(self) -> None:
        self.line = ""
        self.column = 0
        self.lines: list[str] = []

    def feed(self, text: str) -> None:
        for part in re.split(r"(\r|\n|\x1b\[K)", text):
            if part == "\r":
                self.column = 0
            elif part == "\n":
                self.lines.append(self.line)
                self.line, self.column = "", 0
            elif part == "\x1b[K":
                self.line = self.line[: self.column]
            elif part:
                self.line = self.line[: self.column] + part + self.line[self.column + len(part) :]
                self.column += len(part)


def screen_over_time(chunks: list[tuple[float, bytes]]) -> tuple[float, Screen]:
    """The share of the time between the bar's first and last appearance during which it was
    on the last line of the screen, and the final screen."""
    screen = Screen()
    shown_since: float | None = None
    first = last = None
    visible = 0.0
    for when, chunk in chunks:
        screen.feed(chunk.decode("utf-8", "replace"))
        on_screen = BAR.search(screen.line) is not None
        if shown_since is not None:
            visible += when - shown_since
        shown_since = when if on_screen else None
        if on_screen:
            first = when if first is None else first
            last = when
    assert first is not None and last is not None, "the bar never showed"
    assert last - first > 1.0, "the run was too short to judge"
    return visible / (last - first), screen


@needs_tqdm
def test_the_bar_stays_on_a_terminal_throughout(tmp_path: Path) -> None:
    inputs = batch_dir(tmp_path / "in", 1200)  # long enough to judge on a fast machine
    master, slave = pty_pair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtaddr", "check", "-j", "2", str(inputs)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=ENV,
    )
    os.close(slave)
    done = threading.Event()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    try:
        chunks = list(read_all(master, done))
    finally:
        proc.wait(timeout=120)
        reader.join()
        os.close(master)
    assert proc.returncode == 1  # the files with a problem
    assert out[0].count(b"double use") == 48  # on standard output, a pipe: no bar there
    share, screen = screen_over_time(chunks)
    assert share > 0.9, f"the bar was on screen {share:.0%} of the time"
    assert screen.line == ""
    assert screen.lines[-1] == "virtaddr check: 1200 files: 1152 ok, 48 with problems, 0 unusable"
    text = b"".join(chunk for _, chunk in chunks).decode()
    counts = [int(match.group(1)) for match in BAR.finditer(text)]
    assert counts == sorted(counts) and counts[-1] > 800
    assert {match.group(2) for match in BAR.finditer(text)} == {"1200"}
    assert re.search(r"\d+\.\d+ files/s  \d\d:\d\d elapsed, \d\d:\d\d left", text)


@pytest.mark.parametrize("option", [[], ["--progress"]], ids=["default", "forced"])
def test_nothing_is_drawn_on_a_pipe(tmp_path: Path, option: list[str]) -> None:
    inputs = batch_dir(tmp_path / "in", 60)
    proc = subprocess.run(
        [sys.executable, "-m", "virtaddr", "check", *option, str(inputs)],
        capture_output=True,
        env=ENV,
        check=False,
        timeout=120,
    )
    err = proc.stderr.decode()
    summary = "virtaddr check: 60 files: 57 ok, 3 with problems, 0 unusable\n"
    assert err.endswith(summary)
    if option:  # asked for: drawn anyway (if the run lasts), or said why not
        assert progress.format_meter() is not None or "needs tqdm" in err
        return
    assert err == summary
    assert "\r" not in err and "\x1b" not in err


@needs_tqdm
def test_no_bar_on_a_terminal_when_told(tmp_path: Path) -> None:
    inputs = batch_dir(tmp_path / "in", 40)
    master, slave = pty_pair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtaddr", "check", "--no-progress", str(inputs)],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=ENV,
    )
    os.close(slave)
    try:
        text = b"".join(chunk for _, chunk in read_all(master, threading.Event())).decode()
    finally:
        proc.wait(timeout=120)
        os.close(master)
    assert text == "virtaddr check: 40 files: 38 ok, 2 with problems, 0 unusable\r\n"


# ---------------------------------------------------------------------------- a slow file


def slow_on(name: str, seconds: float, item: batch.Input) -> int:
    """A worker taking ``seconds`` over the input called ``name`` (top level: picklable)."""
    if item.name == name:
        time.sleep(seconds)
    return 0


@needs_tqdm
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_slow_file_is_named(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "SLOW_FILE", 0.4)
    master, slave = pty_pair()
    terminal = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", terminal)
    inputs = [batch.Input(f"guests/g{n}.xml", f"g{n}.xml") for n in range(20)]
    done = threading.Event()
    chunks: list[tuple[float, bytes]] = []
    reader = threading.Thread(target=lambda: chunks.extend(read_all(master, done)))
    reader.start()
    try:
        worker = functools.partial(slow_on, "g3.xml", 1.5)
        summary = batch.run_batch(inputs, worker, jobs=jobs, command="check")
    finally:
        terminal.flush()
        done.set()
        reader.join()
        terminal.close()
        os.close(master)
    assert summary.ok == 20
    text = b"".join(chunk for _, chunk in chunks).decode()
    assert re.search(r"now: guests/g3\.xml \(1 s\)", text), text[-500:]
    last = text.rsplit("\r", 1)[-1]
    assert "now:" not in last  # gone with the file


def test_a_long_name_keeps_its_end() -> None:
    formatter = progress.format_meter()
    if formatter is None:
        pytest.skip("the progress bar needs tqdm (the 'progress' extra)")
    name = "/srv/" + "deep/" * 20 + "guest-with-a-long-name.xml"
    bar = progress.Progress([name, "b.xml"], sys.stderr, formatter)
    bar.begun = 90.0
    bar.states[0] = progress.RUNNING
    bar.frontier = 1
    bar._scan(100.0)
    line = bar.line(bar.running[0] + 3.2, 120)
    assert BAR.search(line)
    assert line.endswith("guest-with-a-long-name.xml (3 s)")
    assert len(line) <= 120
    assert len(bar.line(bar.running[0] + 3.2, 50)) <= 50
