"""The command line: ``virtaddr COMMAND ...``. The only code that prints or exits.

Exit status: 0 success; 1 a domain has an address problem libvirt would reject; 2 an input is
unusable (unreadable, not XML, not a ``<domain>``), an output cannot be written, or the command
line is wrong; 3 ``assign --check``: it would change a file. Over several inputs the status is
the worst one (2, then 1, then 3). Stopped by a signal: ``virtaddr: interrupted`` and 128 + the
signal (130 for SIGINT, 143 for SIGTERM), no output half-written; standard output closed early
(``virtaddr ... | head``): 141, silently. Heavy modules (lxml, the passes) are imported only
when a command runs, so that ``virtaddr --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from virtaddr import __version__
from virtaddr.commands import NAMES, signals
from virtaddr.commands.common import (
    EXIT_ADDRESS_PROBLEM,
    EXIT_BROKEN_PIPE,
    EXIT_OK,
    EXIT_UNUSABLE,
    EXIT_WOULD_CHANGE,
    PROG,
)

if TYPE_CHECKING:
    import argparse

__all__ = [
    "EXIT_ADDRESS_PROBLEM",
    "EXIT_BROKEN_PIPE",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "EXIT_WOULD_CHANGE",
    "entry",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with signals.handled() as received:
        try:
            status = _run(arguments)
        except KeyboardInterrupt as exc:  # the signal's Interrupted, or Python's own
            return _interrupted(getattr(exc, "signum", 2))
        except BrokenPipeError:
            return EXIT_BROKEN_PIPE
        if received.signum:  # the exception was swallowed on the way (a __del__, a callback)
            return _interrupted(received.signum)
        return status


def entry() -> None:
    """The console script ``virtaddr`` (and ``python -m virtaddr``)."""
    status = main()
    if status == EXIT_BROKEN_PIPE or status > 128:
        # Leave at once: what stdout still buffers would only fail again at exit (a broken
        # pipe's "Exception ignored"), and nothing else is left to do; a stopped batch's
        # executor threads must not be waited for.
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        if status != EXIT_BROKEN_PIPE:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
        os._exit(status)
    sys.exit(status)


def _interrupted(signum: int) -> int:
    with contextlib.suppress(OSError, ValueError):  # stderr may be gone with the terminal
        print(f"{PROG}: interrupted", file=sys.stderr)
    return 128 + signum


def _run(arguments: list[str]) -> int:
    if arguments[:1] == ["assign"]:  # 'assign FILE' needs no parser (see quick_args)
        from virtaddr.commands.assign import quick_args

        quick = quick_args(arguments)
        if quick is not None:
            # One file in a short run: the cyclic garbage collector would only cost time (its
            # passes over the objects the imports and the pass make); reference counting frees
            # what the run drops.
            collecting = gc.isenabled()
            gc.disable()
            try:
                status: int = quick.run(quick)
            finally:
                if collecting:
                    gc.enable()
            return status
    parser = _build_parser(_named_command(arguments))
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed
        return _exit_status(exc.code)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (try '{PROG} --help')", file=sys.stderr)
        return EXIT_UNUSABLE
    result: int = args.run(args)
    return result


# ---------------------------------------------------------------------------- parser


def _named_command(arguments: Sequence[str]) -> str | None:
    """The command ``arguments`` start with, or None (then every command's parser is built)."""
    return arguments[0] if arguments and arguments[0] in NAMES else None


def _build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only that command's subparser (and its imports).

    The top-level usage names no command (``COMMAND``), and a subparser's usage, help and
    errors do not depend on its siblings, so what is printed is the same either way; the
    complete list of commands is needed only when the first argument is not one of them.
    """
    import argparse  # not at the top: 'assign FILE' does without it

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Assign the missing device addresses of libvirt domain XML as libvirt (9.0 or "
        "11.3) would.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(command=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in NAMES if command is None else (command,):
        importlib.import_module(f"virtaddr.commands.{name}").add_parser(subparsers)
    return parser


def _exit_status(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_UNUSABLE
