"""``virtaddr topology``: the PCI tree of a domain, its free slots and its room for more devices."""

from __future__ import annotations

import argparse
import html
import itertools
import sys
from dataclasses import dataclass
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

    from virtaddr import api
    from virtaddr.api import assigned_topology, rules_for

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
        doc = api.read_document(path)
        rules = rules_for(version_option.from_args(args, "topology"))
        topo, errors = assigned_topology(
            doc.tree, source=doc.source, growth=not args.no_growth, rules=rules
        )
    except api.VirtaddrError as exc:
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
    from virtaddr.api import Topology

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
    from virtaddr.api import Topology

    assert isinstance(topo, Topology)
    lines = [f"{topo.machine} machine, {len(topo.buses)} PCI bus(es)"]
    root = topo.bus(0)
    if root is not None:
        lines.append(_bus_line(root, ""))
        _children(topo, root, "", lines, set())
    orphans = [b for b in topo.buses if b.index and b.address is None]
    for b in orphans:
        lines.append(_bus_line(b, "(not plugged) "))
    lines += room_lines(topo)
    return "\n".join(lines) + "\n"


def room_lines(topo: Any) -> list[str]:
    """The room left, as the text report and the picture's title say it."""
    room, growth = topo.room, topo.growth
    lines = [
        f"room without changing the topology: {room.pcie} PCIe device(s) "
        f"({room.hotplug_pcie} hotpluggable), {room.pci} conventional PCI device(s) "
        f"({room.hotplug_pci} hotpluggable)"
    ]
    if growth is not None:
        more = "at least " if growth.at_least else ""
        lines.append(
            f"room with libvirt's growth (define time, each kind alone): {more}{growth.pcie} "
            f"PCIe device(s), {more}{growth.pci} conventional PCI device(s)"
        )
    return lines


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
    """Graphviz source for the PCI tree, laid out left to right.

    Each bus is a table: its title (bus number, model, the slot it plugs into, hotplug, slots
    used and free, what it accepts), then one row per function in use, in address order (a
    host device with its host address), and one grey row per run of free slots. A single-slot
    port (pcie-root-port, switch downstream port) holding at most one function is drawn in
    its parent's row rather than as a table of its own. Every other bus's table hangs off the
    row of the slot it plugs into, by an edge; the edges come in address order. Past a few
    dozen rows a table wraps into side-by-side columns, and when a bus has many child tables
    they are laid out as a grid in a box with one edge into it, so that a tree of a hundred
    bridges comes out about as wide as it is tall. The graph's title is the text report's
    summary: the machine, the number of buses, the room left.
    """
    from virtaddr.api import Topology

    assert isinstance(topo, Topology)
    drawing = _Drawing(topo)
    out = [
        "digraph pci {",
        "  rankdir=LR; ordering=out; compound=true; nodesep=0.2; ranksep=0.6; pad=0.15;",
        f'  fontname="{_FONT}"; fontsize=10; labelloc=t; labeljust=l;',
        f"  label=<{drawing.summary()}>;",
        f'  node [shape=plain, fontname="{_FONT}", fontsize=10];',
        f'  edge [arrowsize=0.6, color="{_EDGE}"];',
    ]
    for b in drawing.order:
        out.append(f"  bus{b.index} [label=<{drawing.table(b)}>];")
    gridded = {grid.parent.index for grid in drawing.grids}
    for edge in drawing.edges:
        if edge.parent.index in gridded:
            continue
        where = slot_text(edge.parent.index, edge.plugged.slot, edge.plugged.function)
        out.append(
            f"  bus{edge.parent.index}:{drawing.tail_port(edge)}:e -> "
            f'bus{edge.child.index}:head:w [tooltip="{where}"];'
        )
    for grid in drawing.grids:
        # One rank per column, tops aligned, one edge into the box: an edge per table would
        # have to run between the columns or around them.
        parent, first = grid.parent.index, grid.columns[0][0].index
        out.append(
            f"  subgraph cluster_on{parent} {{ label=<on bus {parent}>; "
            f'style="rounded,dashed"; color="{_EDGE}"; fontcolor="{_EDGE}";'
        )
        for column in grid.columns:
            out.append(f"    {{rank=same; {'; '.join(f'bus{b.index}' for b in column)}}}")
        out.append("  }")
        out.append(f"  bus{parent}:head:e -> bus{first}:head:w [lhead=cluster_on{parent}];")
        for before, column in itertools.pairwise(grid.columns):
            out.append(f"  bus{before[0].index} -> bus{column[0].index} [style=invis];")
    out.append("}")
    return "\n".join(out) + "\n"


_FONT = "DejaVu Sans"
_MONO = "DejaVu Sans Mono"
_BUS_BG = "#dde8ff"  # a bus's title, and a slot holding a bus
_PORT_BG = "#eef3ff"  # a single-slot port drawn in its parent's row
_FREE_BG = "#f2f2f2"
_FREE_FG = "#808080"
_HOST_FG = "#8a4b00"
_EDGE = "#4a6fa5"
_CELLS = 4  # cells in a row: where, what (or where, port, where in the port, what)
# How many rows make a height equal to a table's width, and a child table's: for the
# wrapping and the grid to come out about square.
_ROWS_PER_TABLE_WIDTH = 20
_ROWS_PER_CHILD_WIDTH = 15
_GRID_MIN = 3  # fewer child tables than this are never put in a grid


@dataclass(frozen=True, slots=True)
class _Row:
    cells: str  # the markup of its _CELLS columns
    plugged: Any = None  # the function in use (None: free slots)


@dataclass(frozen=True, slots=True)
class _Edge:
    parent: Any  # the bus whose table the edge leaves
    row: int  # from this row of it
    plugged: Any  # the function the child bus plugs into (in parent, or in a port drawn there)
    child: Any


@dataclass(frozen=True, slots=True)
class _Grid:
    """A bus's child tables laid out in several columns (ranks)."""

    parent: Any
    columns: list[list[Any]]


class _Drawing:
    """Which buses get a table, in what order, their rows, and the edges between them."""

    def __init__(self, topo: Any) -> None:
        self.topo = topo
        self.order: list[Any] = []  # buses with a table, depth first in address order
        self.edges: list[_Edge] = []  # in address order within each table
        self.grids: list[_Grid] = []
        self._rows: dict[int, list[_Row]] = {}
        self._out: dict[tuple[int, int], _Edge] = {}  # (bus, row) -> the edge leaving it
        seen: set[int] = set()
        root = topo.bus(0)
        if root is not None:
            self._walk(root, seen)
        for b in topo.buses:  # buses plugged nowhere (or in a loop)
            if b.index not in seen:
                self._walk(b, seen)

    def inline(self, bus: Any) -> bool:
        """Whether a bus is drawn in its parent's row: a port with one slot, plugged in,
        holding at most one function (a device, or a bus whose table hangs off the row)."""
        return bus.address is not None and bus.slots == 1 and len(bus.plugged) <= 1

    def child(self, p: Any) -> Any:
        """The bus a function in use provides, if it is one."""
        return None if p.bus is None else self.topo.bus(p.bus)

    def _walk(self, bus: Any, seen: set[int]) -> None:
        seen.add(bus.index)
        self.order.append(bus)
        rows = self._rows[bus.index] = _rows(self, bus)
        kids = []
        for n, row in enumerate(rows):
            p = row.plugged
            child = None if p is None else self.child(p)
            if child is not None and child.index not in seen and self.inline(child):
                seen.add(child.index)
                child = self.child(child.plugged[0]) if child.plugged else None
            if child is None or child.index in seen:
                continue
            edge = _Edge(bus, n, p, child)
            self.edges.append(edge)
            self._out[bus.index, n] = edge
            kids.append(child)
            self._walk(child, seen)
        if len(kids) >= _GRID_MIN:
            columns = _grid([self.height(k) for k in kids], self.height(bus))
            if len(columns) > 1:
                self.grids.append(_Grid(bus, [[kids[i] for i in c] for c in columns]))
                for edge in self.edges:  # no edge leaves the rows: one enters the grid
                    if edge.parent is bus:
                        del self._out[bus.index, edge.row]

    def _shape(self, bus: Any) -> tuple[int, int]:
        """(columns, rows per column) of a bus's table."""
        rows = len(self._rows[bus.index])
        columns = max(1, round((rows / _ROWS_PER_TABLE_WIDTH) ** 0.5))
        return columns, -(-rows // columns)

    def height(self, bus: Any) -> int:
        """A bus's table height in rows (its title counts for three)."""
        return 3 + self._shape(bus)[1]

    def tail_port(self, edge: _Edge) -> str:
        # In a wrapped table the edge leaves from the far right of the row's line, not from
        # its cell (it would cross the columns to the right).
        columns, per = self._shape(edge.parent)
        return _port(edge.plugged) if columns == 1 else f"out{edge.row % per}"

    def table(self, bus: Any) -> str:
        rows = self._rows[bus.index]
        columns, per = self._shape(bus)
        span = _CELLS * columns + (columns > 1)
        hot = "hotpluggable" if bus.hotplug else "not hotpluggable"
        plural = "slot" if bus.slots == 1 else "slots"
        where = "" if bus.address is None else " in " + slot_text(*bus.address[1:])
        if bus.index and bus.address is None:
            where = " (not plugged)"
        lines = [
            f'<TR><TD COLSPAN="{span}" PORT="head" BGCOLOR="{_BUS_BG}">'
            f"<B>bus {bus.index}</B>: {_h(bus.model)}{_h(where)}</TD></TR>",
            f'<TR><TD COLSPAN="{span}" BGCOLOR="{_BUS_BG}"><FONT POINT-SIZE="9">{hot}; '
            f"{bus.used_slots}/{bus.slots} {plural} used, {bus.free_slots} free<BR/>"
            f"accepts {_h(', '.join(bus.accepts))}</FONT></TD></TR>",
        ]
        for r in range(per):
            cells = []
            out = []
            for c in range(columns):
                n = c * per + r
                cells.append(rows[n].cells if n < len(rows) else f'<TD COLSPAN="{_CELLS}"></TD>')
                edge = self._out.get((bus.index, n))
                if edge is not None:
                    out.append(f"bus {edge.child.index}")
            if columns > 1:
                text = f'<FONT COLOR="{_EDGE}">{", ".join(out)}</FONT>' if out else ""
                cells.append(f'<TD BORDER="0" PORT="out{r}" ALIGN="RIGHT">{text}</TD>')
            lines.append("<TR>" + "".join(cells) + "</TR>")
        return _TABLE + "".join(lines) + "</TABLE>"

    def summary(self) -> str:
        topo = self.topo
        lines = [f"<B>{_h(topo.machine)} machine, {len(topo.buses)} PCI bus(es)</B>"]
        lines += [_h(line) for line in room_lines(topo)]
        rows = "".join(f'<TR><TD ALIGN="LEFT">{line}</TD></TR>' for line in lines)
        key = (
            f'<TD BGCOLOR="{_FREE_BG}"><FONT COLOR="{_FREE_FG}"><I>free</I></FONT></TD>'
            "<TD>no device</TD>"
            f'<TD><FONT COLOR="{_HOST_FG}">&#8592; host</FONT></TD>'
            "<TD>where a host device comes from</TD>"
            f'<TD BGCOLOR="{_BUS_BG}"><B>bus</B></TD><TD>a bus: its table hangs off the row</TD>'
        )
        key_table = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="4"><TR>{key}</TR></TABLE>'
        return (
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            f'{rows}<TR><TD ALIGN="LEFT">{key_table}</TD></TR></TABLE>'
        )


_TABLE = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'


def _grid(heights: list[int], parent: int) -> list[list[int]]:
    """Child tables of these heights (in rows) split, in order, into columns for the subtree
    to come out about square: as many columns as a column of about sqrt(width * total rows)
    rows (and no shorter than the parent's table) gives, then the lowest column height that
    fits them in that many columns. Returns the indexes of each column's tables."""
    total = sum(heights)
    tall = max(parent, round((_ROWS_PER_CHILD_WIDTH * total) ** 0.5))
    count = max(1, round(total / tall))

    def split(cap: int) -> list[list[int]]:
        columns: list[list[int]] = []
        filled = cap
        for i, h in enumerate(heights):
            if filled + h > cap:
                columns.append([])
                filled = 0
            columns[-1].append(i)
            filled += h
        return columns

    low, high = max(heights), total  # the lowest cap that needs at most `count` columns
    while low < high:
        mid = (low + high) // 2
        if len(split(mid)) <= count:
            high = mid
        else:
            low = mid + 1
    return split(low)


def _rows(drawing: _Drawing, bus: Any) -> list[_Row]:
    """A bus's table rows in slot order: one per function in use, one per run of free slots."""
    rows: list[_Row] = []
    used = {p.slot for p in bus.plugged}
    plugged = iter(bus.plugged)
    pending = next(plugged, None)
    slot = bus.min_slot
    while slot <= bus.max_slot:
        if slot not in used:
            last = slot
            while last < bus.max_slot and last + 1 not in used:
                last += 1
            rows.append(_Row(_free_cells(bus.index, slot, last)))
            slot = last + 1
            continue
        while pending is not None and pending.slot == slot:
            rows.append(_Row(_used_cells(drawing, bus, pending), pending))
            pending = next(plugged, None)
        slot += 1
    while pending is not None:  # past the model's slots (an explicit address): still shown
        rows.append(_Row(_used_cells(drawing, bus, pending), pending))
        pending = next(plugged, None)
    return rows


def _free_cells(bus: int, first: int, last: int) -> str:
    where = f"{bus:02x}:{first:02x}" + ("" if last == first else f"-{last:02x}")
    what = "free" if last == first else f"free ({last - first + 1} slots)"
    return (
        f'<TD BGCOLOR="{_FREE_BG}" ALIGN="LEFT"><FONT FACE="{_MONO}" COLOR="{_FREE_FG}">'
        f'{where}</FONT></TD><TD COLSPAN="{_CELLS - 1}" BGCOLOR="{_FREE_BG}" ALIGN="LEFT">'
        f'<FONT COLOR="{_FREE_FG}"><I>{what}</I></FONT></TD>'
    )


def _used_cells(drawing: _Drawing, bus: Any, p: Any) -> str:
    where = f'<TD ALIGN="LEFT">{_mono(slot_text(bus.index, p.slot, p.function))}</TD>'
    child = drawing.child(p)
    if child is None:
        return f'{where}<TD COLSPAN="{_CELLS - 1}" ALIGN="LEFT">{_what(p)}</TD>'
    if not drawing.inline(child):
        return where + _bus_cell(child, p, _CELLS - 1)
    port = f"{_h(child.model)} bus {child.index}" + ("" if child.hotplug else ", no hotplug")
    where += f'<TD BGCOLOR="{_PORT_BG}" ALIGN="LEFT">{port}</TD>'
    if not child.plugged:
        return (
            f'{where}<TD COLSPAN="2" BGCOLOR="{_FREE_BG}" ALIGN="LEFT">'
            f'<FONT COLOR="{_FREE_FG}"><I>free</I></FONT></TD>'
        )
    inner = child.plugged[0]
    where += f'<TD ALIGN="LEFT">{_mono(slot_text(child.index, inner.slot, inner.function))}</TD>'
    grandchild = drawing.child(inner)
    if grandchild is None:
        return f'{where}<TD ALIGN="LEFT">{_what(inner)}</TD>'
    return where + _bus_cell(grandchild, p, 1)


def _bus_cell(bus: Any, p: Any, span: int) -> str:
    """The cell naming the bus plugged at ``p``; the edge to its table leaves from it."""
    return (
        f'<TD COLSPAN="{span}" BGCOLOR="{_BUS_BG}" ALIGN="LEFT" PORT="{_port(p)}">'
        f"<B>bus {bus.index}</B>: {_h(bus.model)}</TD>"
    )


def _what(p: Any) -> str:
    if p.host is None:
        return _h(p.name)
    return (
        f'{_h(p.name)}<BR ALIGN="LEFT"/><FONT COLOR="{_HOST_FG}" POINT-SIZE="9">'
        f'&#8592; host {_h(p.host)}</FONT><BR ALIGN="LEFT"/>'
    )


def _mono(text: str) -> str:
    return f'<FONT FACE="{_MONO}">{_h(text)}</FONT>'


def _port(p: Any) -> str:
    return f"s{p.slot}f{p.function}"


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def slot_text(bus: int, slot: int, function: int) -> str:
    return f"{bus:02x}:{slot:02x}.{function:x}"


def _addr(a: tuple[int, int, int, int]) -> str:
    return f"{a[0]:04x}:{a[1]:02x}:{a[2]:02x}.{a[3]:x}"
