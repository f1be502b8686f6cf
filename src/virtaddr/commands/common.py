"""What every command shares: exit statuses, reporting problems, writing results."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

    from virtaddr.api import Document, DomainError, TextEdits, VirtaddrError

EXIT_OK = 0
EXIT_ADDRESS_PROBLEM = 1
EXIT_UNUSABLE = 2
EXIT_WOULD_CHANGE = 3
"""``assign --check``: no problem, and assign would change the file (ranks below 1 and 2)."""
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a command killed by it
PROG = "virtaddr"

_RANK = {EXIT_OK: 0, EXIT_WOULD_CHANGE: 1, EXIT_ADDRESS_PROBLEM: 2, EXIT_UNUSABLE: 3}


def worst_status(first: int, second: int) -> int:
    """The exit status of two results together: 2 over 1 over 3 over 0 (a file that would
    change hides no problem of another)."""
    return max(first, second, key=lambda status: _RANK.get(status, len(_RANK)))


def write_result(doc: Document, destination: str | None, edits: TextEdits | None = None) -> int:
    """Write ``doc`` (its original text with the changes spliced in, see
    :func:`~virtaddr.xmldoc.splice.write_document`) to ``destination`` (None: standard output)."""
    data = document_bytes(doc, edits)
    if data is None:
        return EXIT_UNUSABLE
    return write_data(data, destination)


def document_bytes(doc: Document, edits: TextEdits | None = None) -> bytes | None:
    """The text of ``doc`` to write, or None after saying why there is none."""
    from virtaddr import api

    try:
        return api.write_document(doc, edits)
    except api.SpliceImpossible as exc:  # a bug: the write-back's edits do not fit the text
        print(f"{doc.source}: cannot write the result ({exc}); nothing written", file=sys.stderr)
        return None


def write_data(data: bytes, destination: str | None) -> int:
    """``data`` to ``destination`` (replaced atomically), or standard output for None."""
    if destination is None:
        write_stdout(data)
        return EXIT_OK
    return write_file(destination, data)


def write_file(path: str, data: bytes) -> int:
    """Replace ``path`` with ``data`` atomically; on failure say why and return exit status 2."""
    from virtaddr import api

    try:
        api.write_atomically(path, data)
    except OSError as exc:
        print(f"{path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


def write_stdout(data: bytes) -> None:
    out: TextIO = sys.stdout
    buffer: BinaryIO | None = getattr(out, "buffer", None)
    out.flush()
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:  # a text-only stream (a test's capture): best effort
        out.write(data.decode("utf-8", "replace"))


def report(error: DomainError, path: str) -> None:
    if not error.source:
        error.source = source_name(path)
    print(str(error), file=sys.stderr)


def report_failure(exc: VirtaddrError, path: str) -> int:
    """Print the error that stopped a command on ``path``; return its exit status.

    A :class:`DomainError` has its own status (1, or 2 for an unusable input); any other
    virtaddr error escaping a pass (an allocator error: a bug, not the input's) counts as an
    address problem.
    """
    from virtaddr import api

    if isinstance(exc, api.DomainError):
        report(exc, path)
        return exc.exit_code
    print(f"{source_name(path)}: {exc}", file=sys.stderr)
    return EXIT_ADDRESS_PROBLEM


def report_errors(errors: Sequence[DomainError], path: str) -> int:
    """Print each of a run's ``errors`` (not empty); return the highest exit status."""
    for error in errors:
        report(error, path)
    return max(error.exit_code for error in errors)


def source_name(path: str) -> str:
    if path == "-":
        from virtaddr.api import STDIN_NAME

        return STDIN_NAME
    return path
