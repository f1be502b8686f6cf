"""``virtaddr plan``: a domain after attaching (or detaching) devices, as libvirt's --config."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from virtaddr.commands import version_option
from virtaddr.commands.common import (
    EXIT_UNUSABLE,
    PROG,
    report_errors,
    report_failure,
    write_result,
)


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
    version_option.add_argument(plan)
    plan.set_defaults(command="plan", run=_run_plan)
    return plan  # type: ignore[no-any-return]


def _run_plan(args: argparse.Namespace) -> int:
    from virtaddr import api
    from virtaddr.api import rules_for

    devices: list[str] = args.devices
    if "-" in devices:
        print(f"{PROG} plan: error: a DEVICE cannot be standard input", file=sys.stderr)
        return EXIT_UNUSABLE
    current = args.domain
    try:
        doc = api.read_document(args.domain)
        inputs = []
        for path in devices:
            current = path
            inputs.append(api.read_device(path))
        current = args.domain
        run = api.detach_devices if args.detach else api.attach_devices
        rules = rules_for(version_option.from_args(args, "plan"))
        result = run(doc.tree, inputs, source=doc.source, rules=rules)
    except api.VirtaddrError as exc:
        return report_failure(exc, current)
    if result.errors:
        return report_errors(result.errors, args.domain)
    output: str | None = args.output
    return write_result(doc, None if output in (None, "-") else output)
