"""Stopping a command cleanly on SIGINT, SIGTERM and SIGHUP, in the main process and in workers.

The main process turns the first of these signals into :class:`Interrupted` (a
``KeyboardInterrupt``), so that what runs unwinds: a batch stops its workers, and ``main``
prints ``virtaddr: interrupted`` and returns ``128 + signal`` (130, 143, 129), as a shell reports
a command killed by the signal. Later signals are ignored while that cleanup runs (it is
bounded: see ``batch``).

A file being replaced (:func:`virtaddr.xmldoc.xmlio.write_atomically`) is never left
half-written, and its temporary file goes when the exception unwinds it, except in one place:
the temporary file exists as soon as ``os.open`` has created it, before its name is
known to anyone who could remove it, and a signal arriving during that ``open`` is handled just
after it. So a signal arriving while a file is being replaced is held until the replacement is
done (checked every :data:`_RETRY` seconds with SIGALRM, for at most :data:`_HOLD` seconds):
the file is then either replaced or untouched, and no temporary file is left.

The workers of ``-j N`` (:func:`worker_init`) ignore SIGINT: a terminal's Ctrl-C reaches the
whole process group, and the main process decides (a worker's traceback per Ctrl-C was the
symptom). On SIGTERM, which the main process sends them when it stops, a worker inside a chunk
unwinds it the same way (holding the signal while a file is being replaced) and exits; between
chunks it exits a moment later, never in the middle of sending a result (see
:func:`_on_worker_signal`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = [
    "STOP_SIGNALS",
    "Interrupted",
    "blocked",
    "handled",
    "in_chunk",
    "worker_init",
]

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_RETRY = 0.001  # seconds between looks at whether a file is still being replaced
_HOLD = 2.0  # seconds a signal is held at most for a file being replaced
_EXIT_DELAY = 0.05  # seconds: far longer than sending a result takes
_WRITER = ("virtaddr.xmldoc.xmlio", "write_atomically")  # (module, function) replacing a file


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``exit_status`` is ``128 + signum`` (130 for SIGINT)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _replacing_a_file(frame: FrameType | None) -> bool:
    """True when ``frame`` (where a signal is being handled) is inside ``write_atomically``."""
    while frame is not None:
        if (frame.f_globals.get("__name__"), frame.f_code.co_name) == _WRITER:
            return True
        frame = frame.f_back
    return False


def _after(seconds: float, handler: Callable[[int, FrameType | None], Any]) -> bool:
    """Call ``handler`` (as a signal handler) in ``seconds``; False where SIGALRM is missing."""
    alarm = getattr(signal, "setitimer", None)
    if alarm is None:
        return False
    signal.signal(signal.SIGALRM, handler)
    alarm(signal.ITIMER_REAL, seconds)
    return True


def _raise_when_no_file_is_replaced(signum: int, frame: FrameType | None) -> None:
    """Raise :class:`Interrupted` now, or once the file being replaced is done."""
    deadline = time.monotonic() + _HOLD

    def again(_: int, later: FrameType | None) -> None:
        if _replacing_a_file(later) and time.monotonic() < deadline:
            _after(_RETRY, again)
            return
        raise Interrupted(signum)

    if _replacing_a_file(frame) and _after(_RETRY, again):
        return
    raise Interrupted(signum)


# ---------------------------------------------------------------------------- main process


class _Received:
    """The first stop signal of a run (0: none yet)."""

    signum = 0


@contextmanager
def handled() -> Iterator[_Received]:
    """Within the block, a stop signal raises :class:`Interrupted` once (later ones are
    ignored); the handlers in force before are restored after it. The value says which signal
    arrived, for a caller that finished anyway (the exception was swallowed by a ``__del__``).

    Outside the main thread (where Python refuses handlers) this changes nothing.
    """
    received = _Received()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if received.signum:
            return
        received.signum = signum
        _raise_when_no_file_is_replaced(signum, frame)

    previous = {}
    try:
        for signum in (*STOP_SIGNALS, getattr(signal, "SIGALRM", None)):
            if signum is not None:
                previous[signum] = signal.getsignal(signum)
        for signum in STOP_SIGNALS:
            signal.signal(signum, on_signal)
    except ValueError:  # not the main thread
        previous = {}
    try:
        yield received
    finally:
        alarm = getattr(signal, "SIGALRM", None)
        if received.signum and alarm in previous:  # the alarm may have held it for a file
            signal.setitimer(signal.ITIMER_REAL, 0)
        else:  # the alarm is the caller's (a test's timeout, say): left as it is
            previous.pop(alarm, None)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def blocked() -> Iterator[None]:
    """Stop signals held back for the block (where the platform allows): a worker process
    started in it begins with them blocked, until :func:`worker_init` has set its handlers.

    A signal arriving meanwhile is delivered when the block ends.
    """
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    mask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        mask(signal.SIG_UNBLOCK, STOP_SIGNALS)


# ---------------------------------------------------------------------------- workers

_busy = False  # inside a chunk: a signal unwinds it
_stop = 0  # the signal that asked this worker to stop
_deadline = 0.0  # until when the signal may be held for a file being replaced
_leaving = False  # the next alarm ends the worker


def worker_init() -> None:
    """The ``initializer`` of a pool's worker processes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in STOP_SIGNALS:
        if signum != signal.SIGINT:
            signal.signal(signum, _on_worker_signal)
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is not None:
        mask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def in_chunk() -> Iterator[None]:
    """Around a worker's chunk of files: a stop signal unwinds it and the worker exits with
    ``128 + signal``; a worker asked to stop between chunks takes no new one."""
    global _busy
    if _stop:
        os._exit(128 + _stop)
    _busy = True
    try:
        yield
    except Interrupted as exc:
        os._exit(exc.exit_status)
    finally:
        _busy = False


def _on_worker_signal(signum: int, frame: FrameType | None) -> None:
    global _stop, _deadline, _leaving
    if _stop:  # already stopping (the group's SIGTERM, then the main process's): let it unwind
        return
    _stop = signum
    _deadline = time.monotonic() + _HOLD
    if _busy and not _replacing_a_file(frame):
        raise Interrupted(signum)
    # Between chunks the worker is waiting for one or sending a result. Dying in the middle of
    # a result would leave the parent's executor reading a half message forever; the send
    # takes microseconds, so leave a moment later, when it is waiting again.
    _leaving = not _busy
    if not _after(_RETRY if _busy else _EXIT_DELAY, _on_worker_alarm):
        os._exit(128 + signum)


def _on_worker_alarm(_: int, frame: FrameType | None) -> None:
    global _leaving
    if _busy:
        if _replacing_a_file(frame) and time.monotonic() < _deadline:
            _after(_RETRY, _on_worker_alarm)
            return
        raise Interrupted(_stop)
    if not _leaving:  # the chunk ended meanwhile: its result may be on its way
        _leaving = True
        _after(_EXIT_DELAY, _on_worker_alarm)
        return
    os._exit(128 + _stop)
