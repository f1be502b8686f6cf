"""The progress line of a batch on a terminal's standard error.

``[██████▍                 ] 2712/10000 files  27%  684.10 files/s  00:04 elapsed, 00:10 left``,
and, while one file has taken more than a second, ``..., now: guests/huge.xml (3 s)``.

The line stays on screen for the whole run: a thread redraws it every
:data:`INTERVAL` (so that the elapsed time and a slow file show even when nothing finishes), and
it is erased only while a file's messages are printed (:meth:`Progress.hidden`), then drawn
again. What each file is at comes from a byte per input (:data:`RUNNING`, :data:`DONE`), written
by whoever processes it: the main process, or with ``-j N`` the workers in shared memory.

The line is formatted by tqdm (the ``progress`` extra), imported only when a bar is drawn:
its public ``tqdm.format_meter`` gives the bar, rate, elapsed time, ETA and the trimming to the
terminal's width. A ``tqdm`` object is not used: when to draw and erase is decided here (the
thread, the messages' lock, progress counted in other processes), and an object would add its
class-wide lock, instance list and monitor thread to keep out of the way.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, MutableSequence, Sequence
from contextlib import contextmanager
from typing import TextIO

__all__ = ["DELAY", "DONE", "INTERVAL", "RUNNING", "SLOW_FILE", "Progress", "format_meter"]

DELAY = 0.5  # seconds before the line first shows: short runs stay quiet
INTERVAL = 0.2  # seconds between redraws
SLOW_FILE = 1.0  # seconds after which the file being processed is named
RUNNING = 1
DONE = 2

_BAR_FORMAT = (
    "[{bar:24}] {n_fmt}/{total_fmt} files {percentage:3.0f}%  {rate_noinv_fmt}  "
    "{elapsed} elapsed, {remaining} left"
)
_CLEAR = "\r\x1b[K"
_NAME_MIN = 12  # columns: a file name cut shorter would not say which file it is


def format_meter() -> Callable[..., str] | None:
    """tqdm's line formatter, or None when tqdm (a dependency) is somehow not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    formatter: Callable[..., str] = tqdm.format_meter
    return formatter


class Progress:
    """The progress line of a run over ``names`` (one per input), drawn on ``stream``.

    ``states`` holds a byte per input (0 waiting, :data:`RUNNING`, :data:`DONE`); the caller
    marks them and calls :meth:`printed` as each input's messages are printed, in input order.
    :meth:`start` begins the redrawing, :meth:`close` erases the line for good.
    """

    def __init__(
        self,
        names: Sequence[str],
        stream: TextIO,
        formatter: Callable[..., str],
        states: MutableSequence[int] | None = None,
    ) -> None:
        self.names = names
        self.total = len(names)
        self.stream = stream
        self.formatter = formatter
        self.states: MutableSequence[int] = bytearray(self.total) if states is None else states
        self.begun = time.monotonic()
        self.printed_count = 0  # inputs whose messages are printed: all DONE
        self.frontier = 0  # inputs from here on have not been handed to anyone yet
        self.running: dict[int, float] = {}  # input -> when it was first seen RUNNING (the lock)
        self.shown = False
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self._ascii = encoding not in ("utf8", "utf16", "utf32")

    # -------------------------------------------------------------- the caller's side

    def start(self) -> None:
        """Begin redrawing (in a daemon thread), if not begun yet."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="virtaddr-progress", daemon=True)
        self._thread.start()

    def started(self, index: int) -> None:
        """Input ``index`` is being processed (by this process)."""
        self.states[index] = RUNNING
        self.frontier = max(self.frontier, index + 1)

    def finished(self, index: int) -> None:
        self.states[index] = DONE

    def printed(self, count: int = 1) -> None:
        """The next ``count`` inputs' messages are printed."""
        self.printed_count += count

    @contextmanager
    def hidden(self) -> Iterator[None]:
        """The line erased for the block (to print a file's messages), then drawn again."""
        with self.lock:
            if self.shown:
                self._write(_CLEAR)
                self.shown = False
            try:
                yield
            finally:
                self._draw(time.monotonic())

    def close(self) -> None:
        """Stop redrawing and erase the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        with self.lock:
            if self.shown:
                self._write(_CLEAR)
                self.shown = False

    # -------------------------------------------------------------- drawing

    def _run(self) -> None:
        while not self._stop.wait(max(INTERVAL, 0.01)):
            with self.lock:
                if self._stop.is_set():
                    return
                self._draw(time.monotonic())

    def _draw(self, now: float) -> None:
        if now - self.begun < DELAY:
            return
        try:
            self._write("\r" + self.line(now, self._columns()) + "\x1b[K")
        except (OSError, ValueError):  # the terminal went away, or the stream was closed
            self._stop.set()
            return
        self.shown = True

    def line(self, now: float, columns: int) -> str:
        """The text of the line at ``now``, at most ``columns`` wide."""
        done, slow = self._scan(now)
        text = self.formatter(
            done,
            self.total,
            now - self.begun,
            ncols=columns,
            unit=" files",
            ascii=self._ascii,
            bar_format=_BAR_FORMAT,
        )
        if slow is None:
            return text
        seconds = f" ({now - self.running[slow]:.0f} s)"
        room = columns - len(text) - len(", now: ") - len(seconds)
        name = self.names[slow]
        if len(name) > room:  # the end of a path says the most
            if room < _NAME_MIN:
                return text
            name = "…" + name[len(name) - room + 1 :]
        return f"{text}, now: {name}{seconds}"

    def _scan(self, now: float) -> tuple[int, int | None]:
        """The number of inputs done, and the one running longest if past SLOW_FILE."""
        done = self.printed_count
        states = self.states
        running = self.running
        for index in range(done, min(self.frontier, self.total)):  # a few chunks at most
            state = states[index]
            if state == DONE:
                done += 1
            elif state == RUNNING:
                running.setdefault(index, now)
        for stale in [i for i in running if states[i] != RUNNING]:
            del running[stale]
        slow = min(running, key=running.__getitem__, default=None)
        if slow is not None and now - running[slow] < SLOW_FILE:
            slow = None
        return done, slow

    def _columns(self) -> int:
        try:
            return max(os.get_terminal_size(self.stream.fileno()).columns - 1, 20)
        except (AttributeError, OSError, ValueError):
            return 79

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
