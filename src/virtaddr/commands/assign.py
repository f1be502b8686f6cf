"""``virtaddr assign``: fill in every missing device address."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from virtaddr.commands import batch, growth_options, live_options, minimal_edit, version_option
from virtaddr.commands.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    PROG,
    document_bytes,
    report_errors,
    report_failure,
    write_data,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from virtaddr.api import DomainError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    assign = subparsers.add_parser(
        "assign",
        help="fill in every missing device address",
        description="Fill in every missing device address of each domain XML INPUT and write "
        "the completed XML (to standard output by default). Nothing is written for an input "
        "with an address problem. Exit status: 0 success, 1 an address problem, 2 an unusable "
        "input or bad usage, 3 with --check: an INPUT would change; over several inputs the "
        "worst (2, 1, 3, 0).",
    )
    assign.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="domain XML file ('-' for standard input) or directory (its *.xml and */input.xml)",
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
        "--out-dir",
        metavar="DIR",
        help="write each result to DIR/<basename of INPUT> (DIR is created if missing; an "
        "INPUT is never replaced)",
    )
    where.add_argument(
        "--diff",
        action="store_true",
        help="print a unified diff of each INPUT against its result; write nothing",
    )
    version_option.add_argument(assign)
    assign.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 3 if assign would change an INPUT (with --diff: print the "
        "diff, otherwise 'INPUT: would change'), 0 if not, 1 or 2 on a problem",
    )
    batch.add_arguments(assign)
    live_options.add_arguments(assign)
    growth_options.add_arguments(assign)
    assign.set_defaults(command="assign", run=_run_assign)
    return assign  # type: ignore[no-any-return]


def quick_args(arguments: list[str]) -> argparse.Namespace | None:
    """``assign FILE`` alone, or with ``-o OUT`` / ``--output OUT``, read as :func:`add_parser`'s
    parser reads it, without building it.

    The commonest command lines then cost no argparse (~5 ms of a ~50 ms process: its import,
    gettext's locale lookups, ``shutil``, the parser). Anything else (another option, several
    inputs, ``-``): None, and the parser decides. The values are the parser's (a unit test
    compares).
    """
    if len(arguments) not in (2, 4) or arguments[0] != "assign":
        return None
    rest = arguments[1:]
    output = None
    if len(rest) == 3:  # FILE -o OUT, or -o OUT FILE
        at = 0 if rest[0] in ("-o", "--output") else 1 if rest[1] in ("-o", "--output") else -1
        if at < 0:
            return None
        output = rest.pop(at + 1)
        rest.pop(at)
        if not output or (output.startswith("-") and output != "-"):
            return None
    path = rest[0]
    if not path or path.startswith("-"):
        return None
    namespace = SimpleNamespace(  # what the code reads of an argparse.Namespace: attributes
        inputs=[path],
        output=output,
        in_place=False,
        out_dir=None,
        diff=False,
        check=False,
        jobs=1,
        progress=None,
        libvirt=None,
        connect=None,
        verify=False,
        grow="libvirt",
        hotplug_room=0,
        hotplug_room_pci=0,
        command="assign",
        run=_run_assign,
    )
    return cast("argparse.Namespace", namespace)


def _run_assign(args: argparse.Namespace) -> int:
    items, problem = batch.expand_inputs(args.inputs)
    inputs = [item.path for item in items]
    problem = problem or _usage_problem(args, inputs, items) or _make_out_dir(args.out_dir)
    if problem:
        print(f"{PROG} assign: error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE

    live, status = live_options.from_args(args, "assign")
    if status:
        return status
    worker = functools.partial(_assign_item, args.in_place, args.out_dir, args.output, live=live)
    worker = functools.partial(worker, diff=args.diff, check=args.check)
    worker = functools.partial(worker, growth=growth_options.from_args(args))
    profile = live.profile if live is not None else None
    worker = functools.partial(worker, libvirt=version_option.from_args(args, "assign", profile))
    summary = batch.run_batch(
        items, worker, jobs=args.jobs, progress=args.progress, command="assign"
    )
    return max(EXIT_OK, summary.status)


def _usage_problem(
    args: argparse.Namespace, inputs: list[str], items: list[batch.Input]
) -> str | None:
    several = len(inputs) > 1 or any(os.path.isdir(path) for path in args.inputs)
    if args.check and (args.output is not None or args.in_place or args.out_dir):
        return "--check writes nothing: it goes without -o, --in-place and --out-dir"
    if several and args.output is not None:
        return "-o/--output takes a single INPUT; use --in-place or --out-dir for several"
    if several and not (args.in_place or args.out_dir or args.diff or args.check):
        return (
            "several INPUTs need --in-place or --out-dir (or --diff or --check, which write "
            "nothing)"
        )
    if inputs.count("-") > 1:
        return "standard input ('-') can be read only once"
    if "-" in inputs and args.in_place:
        return "--in-place cannot replace standard input"
    if "-" in inputs and args.out_dir:
        return "--out-dir needs a file name; standard input has none (use -o)"
    if args.out_dir:
        if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
            return f"--out-dir {args.out_dir}: not a directory"
        names = [item.name for item in items]
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            return f"--out-dir: several INPUTs are named {', '.join(clashes)}"
        return _replaced_input(args.out_dir, items)
    return None


def _replaced_input(out_dir: str, items: list[batch.Input]) -> str | None:
    """Why ``--out-dir`` would replace an input (``--out-dir .`` in the inputs' folder), if so.

    Paths compare resolved (``..``, and symbolic links, which a write follows).
    """
    inputs = {os.path.realpath(item.path): item.path for item in items if item.path != "-"}
    for item in items:
        replaced = inputs.get(os.path.realpath(os.path.join(out_dir, item.name)))
        if replaced is not None:
            return (
                f"--out-dir {out_dir}: the result of {item.path} would replace the input "
                f"{replaced}; nothing written (--in-place replaces inputs on purpose)"
            )
    return None


def _make_out_dir(out_dir: str | None) -> str | None:
    """Create ``--out-dir`` (and its parents) if missing; why not, on failure."""
    if not out_dir:
        return None
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        return f"--out-dir {out_dir}: cannot create: {exc.strerror or exc}"
    return None


def _assign_item(
    in_place: bool,
    out_dir: str | None,
    output: str | None,
    item: batch.Input,
    live: live_options.LiveOptions | None = None,
    growth: growth_options.GrowthOptions | None = None,
    diff: bool = False,
    libvirt: str | None = None,
    check: bool = False,
) -> int:
    """The batch worker: assign ``item`` and write its result where the options say."""
    if in_place:
        destination: str | None = item.path
    elif out_dir:
        destination = os.path.join(out_dir, item.name)
    else:
        destination = None if output in (None, "-") else output
    edit = minimal_edit.DIFF if diff else minimal_edit.IN_PLACE if in_place else None
    if check and not diff:
        edit = minimal_edit.CHECK
    return _assign_one(item.path, destination, live, growth, edit, libvirt, check=check)


def _assign_one(
    path: str,
    destination: str | None,
    live: live_options.LiveOptions | None = None,
    growth: growth_options.GrowthOptions | None = None,
    edit: str | None = None,
    libvirt: str | None = None,
    *,
    check: bool = False,
) -> int:
    """Assign the addresses of one input and write its result; return its exit status.

    ``edit`` (``--in-place``/``--diff``/``--check``): every result is the input's text with
    the changes spliced in; the edit replaces the input by it, prints the difference, or only
    says whether there is one. ``libvirt``: the version to reproduce (default the newest).
    ``check``: the status says whether the input would change (EXIT_WOULD_CHANGE).
    """
    from virtaddr import api

    try:
        doc = api.read_document(path)
        edits = api.TextEdits(doc)
        # The write-back writes text (no new element built) unless something reads or changes
        # the tree besides the pass: a live host, the hotplug room's second run.
        as_text = live is None and not (growth and (growth.hotplug_pcie or growth.hotplug_pci))
        with edits if as_text else contextlib.nullcontext(edits):
            if live is not None:
                live.prepare(doc.tree)
            if growth is not None:
                result = growth.assign(doc.tree, doc.source, libvirt)
            else:
                result = api.assign_tree(doc.tree, source=doc.source, libvirt=libvirt)
    except api.VirtaddrError as exc:
        return report_failure(exc, path)
    errors = result.errors
    if errors:
        if (growth is None or not growth.deep) and _fits_deeper(
            errors, path, live, growth, libvirt
        ):
            for error in errors:  # after libvirt's words, what would get past them
                if growth_options.growth_gave_up(error.message):
                    error.message += f"; {growth_options.DEEP_GROWTH_HINT}"
        return report_errors(errors, path)
    if live is not None and (status := live.finish(doc, path)):
        return status
    data = document_bytes(doc, edits)
    if data is None:
        return EXIT_UNUSABLE
    if edit is not None:
        return minimal_edit.write(doc, data, path, edit, check=check)
    return write_data(data, destination)


def _fits_deeper(
    errors: Sequence[DomainError],
    path: str,
    live: live_options.LiveOptions | None,
    growth: growth_options.GrowthOptions | None,
    libvirt: str | None = None,
) -> bool:
    """Whether libvirt's growth gave up on ``path`` where ``--grow deep`` would not (the input
    is read again: the failed pass has changed its tree; not standard input, read once)."""
    if path == "-" or not any(growth_options.growth_gave_up(e.message) for e in errors):
        return False
    from virtaddr import api

    try:
        doc = api.read_document(path)
        if live is not None:
            live.prepare(doc.tree)
    except api.VirtaddrError:
        return False
    return growth_options.fits_deeper(doc.tree, doc.source, growth, libvirt)
