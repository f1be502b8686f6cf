"""``virtaddr topology``: the PCI tree of a domain, its free slots and its room for more devices."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from virtaddr.commands import version_option
from virtaddr.commands.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    PROG,
    report_errors,
    report_failure,
    source_name,
    write_stdout,
)
from virtaddr.errors import VirtaddrError

REPORT_VERSION = 1


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    topo = subparsers.add_parser(
        "topology",
        help="draw the PCI tree of a domain with its free slots and room",
        description="Draw the PCI tree of the domain XML INPUT (its missing addresses assigned "
        "first, as libvirt would): buses with the controller model, accepted device types, "
        "hotplug flag, used and free slots, and what is plugged where; then how many more "
        "PCIe and conventional PCI devices (and hotplugs) fit without changing the topology, "
        "and how many libvirt accepts when it grows the topology at define time (measured by "
        "adding devices to a copy and running the real pass). Exit status: 0 success, 1 an "
        "address problem, 2 an unusable input or bad usage.",
    )
    topo.add_argument("input", metavar="INPUT", help="domain XML file ('-' for standard input)")
    fmt = topo.add_mutually_exclusive_group()
    fmt.add_argument(
        "--format",
        choices=("text", "dot", "svg"),
        default="text",
        help="text tree (default), Graphviz dot source, or SVG (needs Graphviz's `dot`)",
    )
    fmt.add_argument(
        "--json", action="store_true", help="a JSON report (schemas/topology.schema.json)"
    )
    topo.add_argument(
        "--no-growth",
        action="store_true",
        help="skip measuring the room with libvirt's growth (faster)",
    )
    version_option.add_argument(topo)
    topo.set_defaults(command="topology", run=_run_topology)
    return topo  # type: ignore[no-any-return]


def _run_topology(args: argparse.Namespace) -> int:
    # Here, not at the top: every command line builds this command's parser.
    import json
    import shutil
    import subprocess

    from virtaddr.passes.versions import rules_for
    from virtaddr.topology import assigned_topology
    from virtaddr.xmldoc import xmlio

    path: str = args.input
    dot = None
    if args.format == "svg":
        dot = shutil.which("dot")
        if dot is None:
            print(
                f"{PROG} topology: error: --format svg needs Graphviz's `dot` "
                "(Debian: apt-get install graphviz); --format dot prints its input",
                file=sys.stderr,
            )
            return EXIT_UNUSABLE
    try:
        doc = xmlio.read_document(path)
        rules = rules_for(version_option.from_args(args, "topology"))
        topo, errors = assigned_topology(
            doc.tree, source=doc.source, growth=not args.no_growth, rules=rules
        )
    except VirtaddrError as exc:
        return report_failure(exc, path)
    if topo is None:
        return report_errors(errors, path)
    if args.json:
        text = json.dumps(to_json(topo, source_name(path)), indent=2) + "\n"
    elif args.format == "text":
        text = to_text(topo)
    else:
        text = to_dot(topo)
    if dot is None:
        write_stdout(text.encode())
        return EXIT_OK
    proc = subprocess.run([dot, "-Tsvg"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip()
        print(f"{PROG} topology: error: dot failed: {why}", file=sys.stderr)
        return EXIT_UNUSABLE
    write_stdout(proc.stdout)
    return EXIT_OK


# ---------------------------------------------------------------------------- renderers
# (pure functions of a Topology: tested without the command line)


def to_json(topo: Any, file: str) -> dict[str, Any]:
    from virtaddr.topology import Topology

    assert isinstance(topo, Topology)
    buses = []
    for b in topo.buses:
        buses.append(
            {
                "index": b.index,
                "model": b.model,
                "address": None if b.address is None else _addr(b.address),
                "accepts": list(b.accepts),
                "hotplug": b.hotplug,
                "autoassign": b.autoassign,
                "slots": {
                    "min": b.min_slot,
                    "max": b.max_slot,
                    "used": b.used_slots,
                    "free": b.free_slots,
                },
                "plugged": [
                    {"slot": p.slot, "function": p.function, "name": p.name, "bus": p.bus}
                    for p in b.plugged
                ],
            }
        )
    room = topo.room
    growth = topo.growth
    return {
        "version": REPORT_VERSION,
        "file": file,
        "machine": topo.machine,
        "buses": buses,
        "room": {
            "pcie": room.pcie,
            "pci": room.pci,
            "hotplug_pcie": room.hotplug_pcie,
            "hotplug_pci": room.hotplug_pci,
        },
        "growth": None
        if growth is None
        else {"pcie": growth.pcie, "pci": growth.pci, "at_least": growth.at_least},
    }


def to_text(topo: Any) -> str:
    from virtaddr.topology import Topology

    assert isinstance(topo, Topology)
    lines = [f"{topo.machine} machine, {len(topo.buses)} PCI bus(es)"]
    root = topo.bus(0)
    if root is not None:
        lines.append(_bus_line(root, ""))
        _children(topo, root, "", lines, set())
    orphans = [b for b in topo.buses if b.index and b.address is None]
    for b in orphans:
        lines.append(_bus_line(b, "(not plugged) "))
    room, growth = topo.room, topo.growth
    lines.append(
        f"room without changing the topology: {room.pcie} PCIe device(s) "
        f"({room.hotplug_pcie} hotpluggable), {room.pci} conventional PCI device(s) "
        f"({room.hotplug_pci} hotpluggable)"
    )
    if growth is not None:
        more = "at least " if growth.at_least else ""
        lines.append(
            f"room with libvirt's growth (define time, each kind alone): {more}{growth.pcie} "
            f"PCIe device(s), {more}{growth.pci} conventional PCI device(s)"
        )
    return "\n".join(lines) + "\n"


def _bus_line(b: Any, prefix: str) -> str:
    hot = "hotpluggable" if b.hotplug else "not hotpluggable"
    slots = "slot" if b.slots == 1 else "slots"
    return (
        f"{prefix}{b.model} bus {b.index} [{hot}; accepts {', '.join(b.accepts)}; "
        f"{b.used_slots}/{b.slots} {slots} used, {b.free_slots} free]"
    )


def _children(topo: Any, bus: Any, indent: str, lines: list[str], seen: set[int]) -> None:
    seen.add(bus.index)
    items = list(bus.plugged)
    for n, p in enumerate(items):
        last = n == len(items) - 1
        branch = "└── " if last else "├── "
        where = f"{bus.index:02x}:{p.slot:02x}.{p.function:x}"
        child = topo.bus(p.bus) if p.bus is not None else None
        if child is None or child.index in seen:
            lines.append(f"{indent}{branch}{where} {p.name}")
            continue
        lines.append(f"{indent}{branch}{where} " + _bus_line(child, ""))
        _children(topo, child, indent + ("    " if last else "│   "), lines, seen)


def to_dot(topo: Any) -> str:
    from virtaddr.topology import Topology

    assert isinstance(topo, Topology)
    out = [
        "digraph pci {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="monospace", fontsize=10];',
    ]
    for b in topo.buses:
        hot = "hotplug" if b.hotplug else "no hotplug"
        label = f"bus {b.index}: {b.model}\\n{hot}; {b.used_slots}/{b.slots} used"
        style = ', style=filled, fillcolor="#dde8ff"'
        out.append(f'  bus{b.index} [label="{_esc(label)}"{style}];')
    for b in topo.buses:
        for p in b.plugged:
            where = f"{b.index:02x}:{p.slot:02x}.{p.function:x}"
            if p.bus is not None and topo.bus(p.bus) is not None:
                out.append(f'  bus{b.index} -> bus{p.bus} [label="{where}"];')
                continue
            node = f"dev{b.index}_{p.slot}_{p.function}"
            out.append(f'  {node} [label="{_esc(p.name)}", shape=ellipse];')
            out.append(f'  bus{b.index} -> {node} [label="{where}"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n")


def _addr(a: tuple[int, int, int, int]) -> str:
    return f"{a[0]:04x}:{a[1]:02x}:{a[2]:02x}.{a[3]:x}"
