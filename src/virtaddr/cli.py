"""The command line: ``virtaddr assign``. The only code that prints or exits.

Exit status: 0 success; 1 a domain has an address problem libvirt would reject; 2 an input is
unusable (unreadable, not XML, not a ``<domain>``), an output cannot be written, or the command
line is wrong. Over several inputs the status is the highest one. Heavy modules (lxml, the
passes) are imported only when a command runs, so that ``virtaddr --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO, TextIO

from virtaddr import __version__
from virtaddr.errors import DomainError, VirtaddrError

if TYPE_CHECKING:
    from virtaddr.xmlio import Document

__all__ = ["EXIT_ADDRESS_PROBLEM", "EXIT_OK", "EXIT_UNUSABLE", "entry", "main"]

EXIT_OK = 0
EXIT_ADDRESS_PROBLEM = 1
EXIT_UNUSABLE = 2

PROG = "virtaddr"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed
        return _exit_status(exc.code)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (try '{PROG} --help')", file=sys.stderr)
        return EXIT_UNUSABLE
    status: int = args.run(args)
    return status


def entry() -> None:
    """The console script ``virtaddr``."""
    sys.exit(main())


# ---------------------------------------------------------------------------- parser


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Assign the missing device addresses of libvirt domain XML as libvirt 9.0 "
        "would.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    assign = commands.add_parser(
        "assign",
        help="fill in every missing device address",
        description="Fill in every missing device address of each domain XML INPUT and write "
        "the completed XML (to standard output by default). Nothing is written for an input "
        "with an address problem. Exit status: 0 success, 1 an address problem, 2 an unusable "
        "input or bad usage; over several inputs the highest.",
    )
    assign.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="domain XML file ('-' for standard input)"
    )
    where = assign.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", metavar="OUT", help="write the result to OUT (replaced atomically)"
    )
    where.add_argument(
        "-i",
        "--in-place",
        action="store_true",
        help="replace each INPUT with its result (atomically; untouched on any problem)",
    )
    where.add_argument(
        "--out-dir", metavar="DIR", help="write each result to DIR/<basename of INPUT>"
    )
    assign.set_defaults(command="assign", run=_run_assign)
    return parser


def _exit_status(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_UNUSABLE


# ---------------------------------------------------------------------------- assign


def _run_assign(args: argparse.Namespace) -> int:
    inputs: list[str] = args.inputs
    problem = _usage_problem(args, inputs)
    if problem:
        print(f"{PROG} assign: error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE

    status = EXIT_OK
    for path in inputs:
        status = max(status, _assign_one(path, _destination(args, path)))
    return status


def _usage_problem(args: argparse.Namespace, inputs: list[str]) -> str | None:
    several = len(inputs) > 1
    if several and args.output is not None:
        return "-o/--output takes a single INPUT; use --in-place or --out-dir for several"
    if several and not (args.in_place or args.out_dir):
        return "several INPUTs need --in-place or --out-dir"
    if inputs.count("-") > 1:
        return "standard input ('-') can be read only once"
    if "-" in inputs and args.in_place:
        return "--in-place cannot replace standard input"
    if "-" in inputs and args.out_dir:
        return "--out-dir needs a file name; standard input has none (use -o)"
    if args.out_dir:
        if not os.path.isdir(args.out_dir):
            return f"--out-dir {args.out_dir}: not a directory"
        names = [os.path.basename(path) for path in inputs]
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            return f"--out-dir: several INPUTs are named {', '.join(clashes)}"
    return None


def _destination(args: argparse.Namespace, path: str) -> str | None:
    """Where the result of ``path`` goes; None: standard output."""
    if args.in_place:
        return path
    if args.out_dir:
        return os.path.join(args.out_dir, os.path.basename(path))
    output: str | None = args.output
    return None if output in (None, "-") else output


def _assign_one(path: str, destination: str | None) -> int:
    """Assign the addresses of one input and write its result; return its exit status."""
    from virtaddr import api, xmlio

    try:
        doc = xmlio.read_document(path)
        result = api.assign_tree(doc.tree, source=doc.source)
    except DomainError as exc:
        _report(exc, path)
        return exc.exit_code
    except VirtaddrError as exc:
        print(f"{_source_name(path)}: {exc}", file=sys.stderr)
        return EXIT_ADDRESS_PROBLEM
    if result.errors:
        for error in result.errors:
            _report(error, path)
        return max(error.exit_code for error in result.errors)
    return _write(doc, destination)


def _write(doc: Document, destination: str | None) -> int:
    from virtaddr import xmlio

    data = xmlio.serialize_document(doc)
    if destination is None:
        _write_stdout(data)
        return EXIT_OK
    try:
        xmlio.write_atomically(destination, data)
    except OSError as exc:
        print(f"{destination}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


def _write_stdout(data: bytes) -> None:
    out: TextIO = sys.stdout
    buffer: BinaryIO | None = getattr(out, "buffer", None)
    out.flush()
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:  # a text-only stream (a test's capture): best effort
        out.write(data.decode("utf-8", "replace"))


def _report(error: DomainError, path: str) -> None:
    if not error.source:
        error.source = _source_name(path)
    print(str(error), file=sys.stderr)


def _source_name(path: str) -> str:
    if path == "-":
        from virtaddr.xmlio import STDIN_NAME

        return STDIN_NAME
    return path
