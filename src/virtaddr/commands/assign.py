"""``virtaddr assign``: fill in every missing device address."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from virtaddr.commands.common import (
    EXIT_ADDRESS_PROBLEM,
    EXIT_OK,
    EXIT_UNUSABLE,
    PROG,
    report,
    source_name,
    write_result,
)
from virtaddr.errors import DomainError, VirtaddrError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    assign = subparsers.add_parser(
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
    return assign  # type: ignore[no-any-return]


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
        report(exc, path)
        return exc.exit_code
    except VirtaddrError as exc:
        print(f"{source_name(path)}: {exc}", file=sys.stderr)
        return EXIT_ADDRESS_PROBLEM
    if result.errors:
        for error in result.errors:
            report(error, path)
        return max(error.exit_code for error in result.errors)
    return write_result(doc, destination)
