"""Running a command over many inputs: expansion of directories, ``-j N``, progress, summary.

A command hands :func:`run_batch` a per-file worker (a picklable callable: a top-level function
or a :func:`functools.partial` of one) that takes an :class:`Input`, prints what it has to say
and returns the file's exit status. :func:`run_batch` runs it over every input, in parallel
processes with ``-j N``, prints each file's output in input order (never interleaved), draws a
progress bar on standard error when that is a terminal and the run takes a while, prints a
summary line when there was more than one file, and returns the highest exit status::

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from virtaddr.commands.common import EXIT_ADDRESS_PROBLEM, EXIT_OK, EXIT_UNUSABLE, PROG

if TYPE_CHECKING:  # argparse is imported only when a parser is built (not for 'assign FILE')
    import argparse

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

_PROGRESS_DELAY = 0.5  # seconds before a progress bar appears: short runs stay quiet
_PROGRESS_INTERVAL = 0.1


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
    """The counts of a batch run by exit status and the highest status (the command's)."""

    __slots__ = ("ok", "problems", "status", "unusable")

    def __init__(
        self, ok: int = 0, problems: int = 0, unusable: int = 0, status: int = EXIT_OK
    ) -> None:
        self.ok = ok
        self.problems = problems
        self.unusable = unusable
        self.status = status

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Summary(ok={self.ok}, problems={self.problems}, unusable={self.unusable}, "
            f"status={self.status})"
        )

    def _key(self) -> tuple[int, int, int, int]:
        return (self.ok, self.problems, self.unusable, self.status)

    @property
    def files(self) -> int:
        return self.ok + self.problems + self.unusable

    def line(self) -> str:
        """``N files: A ok, B with problems, C unusable``."""
        noun = "file" if self.files == 1 else "files"
        return (
            f"{self.files} {noun}: {self.ok} ok, {self.problems} with problems, "
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
    """Run ``worker`` over ``inputs`` and return the summary; its ``status`` is the highest.

    With ``jobs`` > 1 (and more than one input, none of them standard input) the files go to a
    pool of ``jobs`` processes, so ``worker`` must be picklable. Each file's output is printed
    in input order once it is done. ``progress`` None: a bar on standard error when it is a
    terminal. With more than one input a summary line ``PROG COMMAND: N files: ...`` ends the
    run on standard error.
    """
    bar = _Progress(len(inputs), _want_progress(progress) and len(inputs) > 1)
    counts = {EXIT_OK: 0, EXIT_ADDRESS_PROBLEM: 0, EXIT_UNUSABLE: 0}
    status = EXIT_OK
    for outcome in _outcomes(inputs, worker, jobs):
        bar.clear()
        _replay(outcome)
        code = outcome.status
        counts[min(max(code, EXIT_OK), EXIT_UNUSABLE)] += 1
        status = max(status, code)
        bar.advance()
    bar.clear()
    summary = Summary(counts[EXIT_OK], counts[EXIT_ADDRESS_PROBLEM], counts[EXIT_UNUSABLE], status)
    if len(inputs) > 1:
        prefix = f"{PROG} {command}" if command else PROG
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
    inputs: Sequence[Input], worker: Callable[[Input], int], jobs: int
) -> Iterable[Outcome]:
    if jobs <= 1 or len(inputs) <= 1 or any(item.path == "-" for item in inputs):
        return (_captured(worker, item) for item in inputs)
    return _parallel(inputs, worker, jobs)


def _parallel(
    inputs: Sequence[Input], worker: Callable[[Input], int], jobs: int
) -> Iterator[Outcome]:
    jobs = min(jobs, len(inputs))
    # Chunks amortise the cost of a round trip; small enough that progress stays smooth.
    chunksize = max(1, min(32, len(inputs) // (jobs * 8)))
    sys.stdout.flush()
    sys.stderr.flush()
    from concurrent.futures import ProcessPoolExecutor  # only for -j N: ~10 ms to import

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_captured, [worker] * len(inputs), inputs, chunksize=chunksize)


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
        buffer.write(data)
        buffer.flush()
    else:  # a text-only stream (a test's capture)
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class _Progress:
    """``[#####.....]  512/10000 files  170/s`` on standard error, redrawn in place."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.start = time.monotonic()
        self.drawn_at = 0.0
        self.shown = False

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < _PROGRESS_DELAY or now - self.drawn_at < _PROGRESS_INTERVAL:
            return
        self.drawn_at = now
        width = 30
        filled = width * self.done // max(self.total, 1)
        rate = self.done / max(now - self.start, 1e-9)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total} files  {rate:.0f}/s"
        )
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False
