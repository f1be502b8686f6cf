"""``virtaddr plan``: a domain after attaching (or detaching) devices, as libvirt's --config."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from virtaddr.commands.common import (
    EXIT_ADDRESS_PROBLEM,
    EXIT_UNUSABLE,
    PROG,
    report,
    source_name,
    write_result,
)
from virtaddr.errors import DomainError, UnusableInput, VirtaddrError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    plan = subparsers.add_parser(
        "plan",
        help="the domain after attaching devices to its persistent configuration",
        description="Print DOMAIN as libvirt stores it after 'virsh attach-device --config' of "
        "each DEVICE in order (after 'detach-device --config' with --detach): existing devices "
        "keep their addresses, new ones are placed as libvirt places them at attach time (it may "
        "add a pcie-root-port or a bridge). DOMAIN is first completed as define would. Nothing "
        "is written when libvirt would refuse a device. Exit status: 0 success, 1 libvirt would "
        "refuse (no room, a name in use, ...), 2 an unusable input or bad usage.",
    )
    plan.add_argument("domain", metavar="DOMAIN", help="domain XML file ('-' for standard input)")
    plan.add_argument(
        "devices", nargs="+", metavar="DEVICE", help="device XML file (<disk>, <interface>, ...)"
    )
    plan.add_argument(
        "--detach", action="store_true", help="detach the devices instead of attaching them"
    )
    plan.add_argument(
        "-o", "--output", metavar="OUT", help="write the result to OUT (replaced atomically)"
    )
    plan.set_defaults(command="plan", run=_run_plan)
    return plan  # type: ignore[no-any-return]


def _run_plan(args: argparse.Namespace) -> int:
    from virtaddr import plan, xmlio

    devices: list[str] = args.devices
    if "-" in devices:
        print(f"{PROG} plan: error: a DEVICE cannot be standard input", file=sys.stderr)
        return EXIT_UNUSABLE
    current = args.domain
    try:
        doc = xmlio.read_document(args.domain)
        inputs = []
        for path in devices:
            current = path
            inputs.append(plan.parse_device(_read(path), path))
        current = args.domain
        run = plan.detach_devices if args.detach else plan.attach_devices
        result = run(doc.tree, inputs, source=doc.source)
    except DomainError as exc:
        report(exc, current)
        return exc.exit_code
    except VirtaddrError as exc:
        print(f"{source_name(current)}: {exc}", file=sys.stderr)
        return EXIT_ADDRESS_PROBLEM
    if result.errors:
        for error in result.errors:
            report(error, args.domain)
        return max(error.exit_code for error in result.errors)
    output: str | None = args.output
    return write_result(doc, None if output in (None, "-") else output)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise UnusableInput(f"cannot read: {exc.strerror or exc}", source=path) from None
