"""``virtaddr check``: report every address problem of each domain, without writing anything."""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import sys
from typing import Any

from virtaddr.commands import batch, growth_options, version_option
from virtaddr.commands.common import (
    EXIT_ADDRESS_PROBLEM,
    EXIT_OK,
    EXIT_UNUSABLE,
    PROG,
    source_name,
)

REPORT_VERSION = 1


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    check = subparsers.add_parser(
        "check",
        help="report every address problem of domain XML files",
        description="Report every address problem of each domain XML INPUT, one per line as "
        "FILE:LINE: error|warning: device: message. An error is what libvirt rejects at "
        "define time; a warning is advice beyond libvirt. Exit status: 0 no error (warnings "
        "allowed unless --strict), 1 an error (or a warning with --strict), 2 an unusable "
        "input; over several inputs the highest. With --libvirt A,B (before an upgrade from "
        "libvirt A to B), also a warning per device the two address differently and per error "
        "of a version that rejects what the other accepts.",
    )
    check.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="domain XML file ('-' for standard input) or directory (its *.xml and */input.xml)",
    )
    check.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    check.add_argument("--strict", action="store_true", help="warnings make the exit status 1")
    check.add_argument(
        "--schema",
        action="store_true",
        help="also validate each document with libvirt's RelaxNG schema, when installed",
    )
    version_option.add_argument(check, two=True)
    batch.add_arguments(check)
    check.set_defaults(command="check", run=_run_check)
    return check  # type: ignore[no-any-return]


def _run_check(args: argparse.Namespace) -> int:
    items, problem = batch.expand_inputs(args.inputs)
    if problem is None and [item.path for item in items].count("-") > 1:
        problem = "standard input ('-') can be read only once"
    if problem:
        print(f"{PROG} check: error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    worker = functools.partial(
        _check_item,
        strict=args.strict,
        schema=args.schema,
        text=not args.json,
        libvirt=version_option.versions_from_args(args) or version_option.from_args(args, "check"),
    )
    run = functools.partial(
        batch.run_batch, items, worker, jobs=args.jobs, progress=args.progress, command="check"
    )
    if not args.json:
        return max(EXIT_OK, run().status)
    import json  # only for --json

    # Each file's worker prints its report entry as one JSON line; they make one report.
    lines = io.StringIO()
    with contextlib.redirect_stdout(lines):
        status = max(EXIT_OK, run().status)
    files = [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]
    report = {"version": REPORT_VERSION, "exit_status": status, "files": files}
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return status


def _check_item(
    item: batch.Input,
    *,
    strict: bool,
    schema: bool,
    text: bool,
    libvirt: str | tuple[str, str] | None = None,
) -> int:
    """The batch worker: check one input; print its problems (text) or its entry (one JSON line)."""
    code, entry = _check_one(item.path, strict=strict, schema=schema, text=text, libvirt=libvirt)
    if not text:
        import json  # only for --json

        print(json.dumps(entry))
    return code


def _check_one(
    path: str,
    *,
    strict: bool,
    schema: bool,
    text: bool,
    libvirt: str | tuple[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Check one file under ``libvirt``: one version, or two (an upgrade's: what differs)."""
    from virtaddr import api
    from virtaddr.api import Problem, check_tree, check_versions, rules_for

    name = source_name(path)
    try:
        doc = api.read_document(path)
        if isinstance(libvirt, tuple):
            pair = (rules_for(libvirt[0]), rules_for(libvirt[1]))
            result = check_versions(doc.tree, source=doc.source, schema=schema, rules=pair)
            libvirt = libvirt[0]  # for the --grow deep hint: an error both versions find
        else:
            rules = rules_for(libvirt)
            result = check_tree(doc.tree, source=doc.source, schema=schema, rules=rules)
    except api.DomainError as exc:
        problem = Problem.from_error(exc, code="unusable" if exc.exit_code == 2 else "libvirt")
        if problem.source is None:  # rare: an unusable input
            problem = problem.replace(source=name)
        if text:
            print(problem.format())
        return exc.exit_code, _entry(name, exc.exit_code, [problem], [])
    except api.VirtaddrError as exc:  # an allocator error escaping a pass: a bug, not the input's
        problem = Problem("error", str(exc), source=name, code="internal")
        if text:
            print(problem.format())
        return EXIT_ADDRESS_PROBLEM, _entry(name, EXIT_ADDRESS_PROBLEM, [problem], [])
    code = EXIT_OK
    if result.errors or (strict and result.warnings):
        code = EXIT_ADDRESS_PROBLEM
    notes = list(result.notes)
    if any(
        growth_options.growth_gave_up(p.message) for p in result.errors
    ) and growth_options.fits_deeper(copy.deepcopy(doc.tree), doc.source, libvirt=libvirt):
        hint = growth_options.DEEP_GROWTH_HINT
        notes.append(f"libvirt's growth gives up here; virtaddr assign {hint}")
    if text:
        for note in notes:
            print(f"{name}: note: {note}", file=sys.stderr)
        for problem in result.problems:
            print(problem.format())
    return code, _entry(name, code, result.problems, notes)


def _entry(name: str, code: int, problems: list[Any], notes: list[str]) -> dict[str, Any]:
    return {
        "file": name,
        "exit_status": code,
        "unusable": code == EXIT_UNUSABLE,
        "errors": sum(1 for p in problems if p.is_error),
        "warnings": sum(1 for p in problems if not p.is_error),
        "problems": [p.as_json() for p in problems],
        "notes": notes,
    }
