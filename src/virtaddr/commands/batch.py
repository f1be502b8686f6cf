"""Running a command over many inputs: expansion of directories, ``-j N``, progress, summary.

A command hands :func:`run_batch` a per-file worker (a picklable callable: a top-level function
or a :func:`functools.partial` of one) that takes an :class:`Input`, prints what it has to say
and returns the file's exit status. :func:`run_batch` runs it over every input, in parallel
processes with ``-j N``, prints each file's output in input order (never interleaved), draws a
progress bar on standard error when that is a terminal and the run takes a while, prints a
summary line when there was more than one file, and returns the worst exit status::

    def add_parser(subparsers):
        ...
        batch.add_arguments(parser)

    def _run(args):
        inputs, problem = batch.expand_inputs(args.inputs)
        if problem:
            ...  # print it, return EXIT_UNUSABLE
        return batch.run_batch(inputs, functools.partial(_one, options), jobs=args.jobs,
                               command="check").status
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from virtaddr.commands import signals
from virtaddr.commands.common import (
    EXIT_ADDRESS_PROBLEM,
    EXIT_OK,
    EXIT_UNUSABLE,
    EXIT_WOULD_CHANGE,
    PROG,
    worst_status,
)

if TYPE_CHECKING:  # argparse is imported only when a parser is built (not for 'assign FILE')
    import argparse

    from virtaddr.commands.progress import Progress

__all__ = [
    "Input",
    "Outcome",
    "Summary",
    "add_arguments",
    "expand_inputs",
    "run_batch",
]

CORPUS_INPUT = "input.xml"
"""A directory's subdirectory ``NAME/`` holding this file is one input named ``NAME``."""

_CHUNKS_AHEAD = 4  # chunks handed to the pool per worker ahead of the one printed next
_STOP_GRACE = 3.0  # seconds a stopped worker has to unwind before it is killed


# Plain classes rather than dataclasses: ``@dataclass`` costs ~0.5 ms of start-up per class,
# paid by every ``virtaddr`` process (P1 in benchmarks/README.md).


class Input:
    """One input file: ``path`` to read (``-``: standard input) and ``name``, the file name a
    result takes in an output directory (``NAME.xml`` for a corpus-style ``NAME/input.xml``)."""

    __slots__ = ("name", "path")

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Input):
            return NotImplemented
        return (self.path, self.name) == (other.path, other.name)

    def __hash__(self) -> int:
        return hash((self.path, self.name))

    def __repr__(self) -> str:
        return f"Input(path={self.path!r}, name={self.name!r})"


class Outcome:
    """What a worker did with one input: its exit status and what it printed."""

    __slots__ = ("status", "stderr", "stdout")

    def __init__(self, status: int, stdout: bytes = b"", stderr: bytes = b"") -> None:
        self.status = status
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"Outcome(status={self.status!r}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class Summary:
    """The counts of a batch run by exit status and the highest status (the command's).

    ``changed``: the files ``assign --check`` would change (not counted in ``ok``).
    """

    __slots__ = ("changed", "ok", "problems", "status", "unusable")

    def __init__(
        self,
        ok: int = 0,
        problems: int = 0,
        unusable: int = 0,
        status: int = EXIT_OK,
        *,
        changed: int = 0,
    ) -> None:
        self.ok = ok
        self.problems = problems
        self.unusable = unusable
        self.status = status
        self.changed = changed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Summary(ok={self.ok}, problems={self.problems}, unusable={self.unusable}, "
            f"status={self.status}, changed={self.changed})"
        )

    def _key(self) -> tuple[int, int, int, int, int]:
        return (self.ok, self.problems, self.unusable, self.status, self.changed)

    @property
    def files(self) -> int:
        return self.ok + self.changed + self.problems + self.unusable

    def line(self) -> str:
        """``N files: A ok, B with problems, C unusable`` (``, D would change`` after ``ok``
        when there are such files)."""
        noun = "file" if self.files == 1 else "files"
        changed = f", {self.changed} would change" if self.changed else ""
        return (
            f"{self.files} {noun}: {self.ok} ok{changed}, {self.problems} with problems, "
            f"{self.unusable} unusable"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-j/--jobs`` and ``--progress/--no-progress`` to a command's parser."""
    import argparse

    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="process N files at a time in parallel processes (0: one per CPU; default 1)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: when it is a terminal)",
    )


def expand_inputs(arguments: Sequence[str]) -> tuple[list[Input], str | None]:
    """The input files named by ``arguments``, and a usage problem (or None).

    A directory stands for its ``*.xml`` files and its subdirectories ``NAME/`` holding an
    ``input.xml`` (the corpus layout), in name order; anything else (a file, ``-``, a path that
    does not exist: the worker reports it) stands for itself. A directory without any input is a
    usage problem.
    """
    inputs: list[Input] = []
    for argument in arguments:
        if argument != "-" and os.path.isdir(argument):
            found = list(_directory_inputs(argument))
            if not found:
                return [], f"{argument}: no *.xml file and no */{CORPUS_INPUT} in this directory"
            inputs.extend(found)
        else:
            inputs.append(Input(argument, os.path.basename(argument)))
    return inputs, None


def run_batch(
    inputs: Sequence[Input],
    worker: Callable[[Input], int],
    *,
    jobs: int = 1,
    progress: bool | None = None,
    command: str = "",
) -> Summary:
    """Run ``worker`` over ``inputs`` and return the summary; its ``status`` is the worst
    (:func:`~virtaddr.commands.common.worst_status`).

    With ``jobs`` > 1 (and more than one input, none of them standard input) the files go to a
    pool of ``jobs`` processes, so ``worker`` must be picklable. Each file's output is printed
    in input order once it is done. ``progress`` None: a bar on standard error when it is a
    terminal. With more than one input a summary line ``PROG COMMAND: N files: ...`` ends the
    run on standard error.

    A stop signal (see :mod:`~virtaddr.commands.signals`) raises out of here once the workers
    have stopped.
    """
    prefix = f"{PROG} {command}" if command else PROG
    bar = _progress_bar(inputs, progress, prefix)
    counts = {EXIT_OK: 0, EXIT_WOULD_CHANGE: 0, EXIT_ADDRESS_PROBLEM: 0, EXIT_UNUSABLE: 0}
    status = EXIT_OK
    try:
        with contextlib.closing(_outcomes(inputs, worker, jobs, bar)) as outcomes:
            for group in outcomes:
                _show(group, bar)
                for outcome in group:
                    code = outcome.status
                    counts[code if code in counts else EXIT_UNUSABLE] += 1
                    status = worst_status(status, code)
    except _WorkerDied as exc:
        if bar is not None:
            bar.close()
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        status = worst_status(status, EXIT_UNUSABLE)
    finally:
        if bar is not None:
            bar.close()
    summary = Summary(
        counts[EXIT_OK],
        counts[EXIT_ADDRESS_PROBLEM],
        counts[EXIT_UNUSABLE],
        status,
        changed=counts[EXIT_WOULD_CHANGE],
    )
    if len(inputs) > 1:
        print(f"{prefix}: {summary.line()}", file=sys.stderr)
    return summary


# ---------------------------------------------------------------------------- internals


def _jobs(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of jobs: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the number of jobs cannot be negative: {value}")
    return value or os.cpu_count() or 1


def _directory_inputs(directory: str) -> Iterator[Input]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            nested = os.path.join(path, CORPUS_INPUT)
            if os.path.isfile(nested):
                yield Input(nested, f"{name}.xml")
        elif name.endswith(".xml"):
            yield Input(path, name)


def _outcomes(
    inputs: Sequence[Input], worker: Callable[[Input], int], jobs: int, bar: Progress | None
) -> Generator[list[Outcome], None, None]:
    """The outcomes of ``inputs`` in input order, in groups (one file, or a pool's chunk)."""
    if jobs <= 1 or len(inputs) <= 1 or any(item.path == "-" for item in inputs):
        if bar is not None:
            bar.start()
        for index, item in enumerate(inputs):
            if bar is not None:
                bar.started(index)
            outcome = _captured(worker, item)
            if bar is not None:
                bar.finished(index)
            yield [outcome]
        return
    yield from _parallel(inputs, worker, jobs, bar)


def _parallel(
    inputs: Sequence[Input], worker: Callable[[Input], int], jobs: int, bar: Progress | None
) -> Iterator[list[Outcome]]:
    """The outcomes of ``inputs`` from a pool of ``jobs`` processes, a chunk of files at a time.

    Chunks are handed out a few per worker ahead, not all at once, so that stopping cancels
    little. On any exception (a stop signal, a broken pipe, the consumer closing this
    generator) the workers are stopped before it propagates: SIGTERM, which a worker answers
    by unwinding its chunk once any file it is replacing is done (see
    :mod:`~virtaddr.commands.signals`), then SIGKILL for one still there after
    :data:`_STOP_GRACE` seconds. The executor is not waited for: its
    threads end with the workers, and nothing may hang a command that was told to stop.
    """
    import multiprocessing  # only for -j N
    from concurrent.futures import ProcessPoolExecutor  # ~10 ms to import
    from concurrent.futures.process import BrokenProcessPool

    jobs = min(jobs, len(inputs))
    # Chunks amortise the cost of a round trip; small enough that progress stays smooth.
    size = max(1, min(32, len(inputs) // (jobs * 8)))
    context = multiprocessing.get_context()
    states = None
    if bar is not None:
        states = context.RawArray("b", len(inputs))
        bar.states = states
    sys.stdout.flush()
    sys.stderr.flush()
    others = set(multiprocessing.active_children())
    workers: dict[int | None, Any] = {}
    with signals.blocked():  # a worker starts with the stop signals blocked: see worker_init
        pool = ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_worker_init, initargs=(states,)
        )
    pending: deque[Any] = deque()
    frontier = 0
    try:
        while True:
            while frontier < len(inputs) and len(pending) < jobs * _CHUNKS_AHEAD:
                chunk = [(i, inputs[i]) for i in range(frontier, min(frontier + size, len(inputs)))]
                with signals.blocked():
                    pending.append(pool.submit(_run_chunk, worker, chunk))
                frontier += len(chunk)
                workers.update((p.pid, p) for p in multiprocessing.active_children())
            if bar is not None:
                bar.frontier = frontier
                bar.start()  # not before: the workers are forked by the first submit
            if not pending:
                break
            try:
                group = pending.popleft().result()
            except BrokenProcessPool:  # a worker died: how, once they are all gone
                mine = [p for p in workers.values() if p not in others]
                _stop_workers(pool, mine)
                raise _WorkerDied.of(mine) from None
            yield group
    except BaseException:
        _stop_workers(pool, [p for p in workers.values() if p not in others])
        raise
    pool.shutdown()


def _stop_workers(pool: Any, workers: list[Any]) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    deadline = time.monotonic() + _STOP_GRACE
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in workers:
        if process.is_alive():
            process.kill()
            process.join(1.0)


class _WorkerDied(Exception):
    """A worker process ended in the middle of the run (killed by someone else, out of memory)."""

    @classmethod
    def of(cls, workers: list[Any]) -> BaseException:
        """What to raise for the pool's ``workers`` once one has died: :class:`Interrupted`
        when they were all stopped by a stop signal (sent to the group with us, which is
        stopping too), else this, saying how the others ended."""
        codes = [p.exitcode for p in workers if p.exitcode]
        stops = {
            code: signum for signum in signals.STOP_SIGNALS for code in (-signum, 128 + signum)
        }
        foreign = [code for code in codes if code not in stops]
        if codes and not foreign:
            return signals.Interrupted(stops[codes[0]])
        how = ", ".join(
            f"killed by signal {-code}" if code < 0 else f"exit status {code}" for code in foreign
        )
        return cls(f"a worker process ended unexpectedly ({how or 'unknown cause'}); "
                   "the files not reported above were not processed")  # fmt: skip


_STATES: Any = None  # in a worker: the shared progress bytes (None: no progress bar)


def _worker_init(states: Any) -> None:
    global _STATES
    _STATES = states
    signals.worker_init()


def _run_chunk(worker: Callable[[Input], int], chunk: list[tuple[int, Input]]) -> list[Outcome]:
    """In a worker: run ``worker`` over a chunk of (index, input) pairs."""
    outcomes = []
    states = _STATES
    with signals.in_chunk():
        if states is None:
            outcomes = [_captured(worker, item) for _, item in chunk]
        else:
            from virtaddr.commands.progress import DONE, RUNNING

            for index, item in chunk:
                states[index] = RUNNING
                outcomes.append(_captured(worker, item))
                states[index] = DONE
    return outcomes


def _captured(worker: Callable[[Input], int], item: Input) -> Outcome:
    """Run ``worker`` on ``item`` with what it prints kept, so that outputs never interleave."""
    out, err = _Capture(), _Capture()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = worker(item)
    return Outcome(status, out.data(), err.data())


class _Capture(io.TextIOWrapper):
    """A text stream with a binary ``buffer``, like ``sys.stdout``, kept in memory."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)

    def data(self) -> bytes:
        self.flush()
        raw: Any = self.buffer
        return bytes(raw.getvalue())


def _replay(outcome: Outcome) -> None:
    for stream, data in ((sys.stdout, outcome.stdout), (sys.stderr, outcome.stderr)):
        if data:
            _write(stream, data)


def _write(stream: TextIO, data: bytes) -> None:
    buffer: BinaryIO | None = getattr(stream, "buffer", None)
    stream.flush()
    if buffer is not None:
        view = memoryview(data)
        while view:  # under PYTHONUNBUFFERED ``buffer`` is the raw file: a write may be partial
            written = buffer.write(view)
            view = view[len(view) if written is None else written :]
        buffer.flush()
    else:  # a text-only stream (a test's capture)
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()


def _progress_bar(inputs: Sequence[Input], progress: bool | None, prefix: str) -> Progress | None:
    """The bar to draw, if any: asked for, or by default when standard error is a terminal."""
    if len(inputs) <= 1:
        return None
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        if not (isatty and isatty()):
            return None
    elif not progress:
        return None
    from virtaddr.commands.progress import Progress, format_meter  # threading: only for a bar

    formatter = format_meter()
    if formatter is None:
        if progress:
            print(f"{prefix}: --progress: the progress bar needs tqdm (a dependency of "
                  "virtaddr): pip install tqdm", file=sys.stderr)  # fmt: skip
        return None
    return Progress([item.path for item in inputs], sys.stderr, formatter)


def _show(group: list[Outcome], bar: Progress | None) -> None:
    """Print what the files of ``group`` printed, erasing the bar meanwhile if it is in the way."""
    if bar is None:
        for outcome in group:
            _replay(outcome)
        return
    if any(o.stderr or (o.stdout and _stdout_is_terminal()) for o in group):
        with bar.hidden():
            bar.printed(len(group))
            for outcome in group:
                _replay(outcome)
    else:
        bar.printed(len(group))
        for outcome in group:
            _replay(outcome)


def _stdout_is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())
