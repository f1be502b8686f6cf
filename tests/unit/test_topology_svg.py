"""virtaddr topology --format dot/svg: the structure of the picture, not its pixels.

The dot source is parsed back (each bus's table is an HTML-like label, itself XML) and held
to the topology it draws: free and used slots styled apart, edges in address order, the room
summary of the text report, a host device's host address, and a tree of many bridges laid
out as a grid rather than one tall column.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from domainxml import controller, disk, domain, hostdev, interface, pci, simple
from virtaddr.cli import main
from virtaddr.commands.topology import room_lines, to_dot, to_text
from virtaddr.passes.pci_flags import BUS_MODELS
from virtaddr.topology import Bus, Growth, Plugged, Room, Topology, assigned_topology

FREE_BG = "#f2f2f2"
BUS_BG = "#dde8ff"

_NODE = re.compile(r"^  (bus\d+) \[label=<(.*)>\];$")
_EDGE = re.compile(r"^  (bus\d+):(\w+):e -> (bus\d+):head:w \[(.*)\];$")
_LABEL = re.compile(r"^  label=<(.*)>;$")
_RANK = re.compile(r"^    \{rank=same; (.*)\}$")


@dataclasses.dataclass
class Dot:
    """What a to_dot output holds: tables by node name, edges, grids, the graph's title."""

    tables: dict[str, etree._Element]
    edges: list[tuple[str, str, str, str]]  # tail node, tail port, head node, attributes
    grids: dict[str, list[list[str]]]  # cluster name -> its columns of nodes
    title: etree._Element


def parse(dot: str) -> Dot:
    lines = dot.splitlines()
    assert lines[0] == "digraph pci {" and lines[-1] == "}"
    tables, edges, grids = {}, [], {}
    title = None
    cluster = None
    for line in lines:
        if m := _NODE.match(line):
            assert m[1] not in tables, f"{m[1]} drawn twice"
            tables[m[1]] = etree.fromstring(m[2])
        elif m := _EDGE.match(line):
            edges.append((m[1], m[2], m[3], m[4]))
        elif m := _LABEL.match(line):
            title = etree.fromstring(m[1])
        elif m := re.match(r"^  subgraph (cluster_\w+) \{", line):
            cluster = m[1]
            grids[cluster] = []
        elif (m := _RANK.match(line)) and cluster is not None:
            grids[cluster].append(m[1].split("; "))
    assert title is not None
    return Dot(tables, edges, grids, title)


def text(el: etree._Element) -> str:
    """An element's text as it reads, a line break a space."""
    el = copy.deepcopy(el)
    for br in el.iter("BR"):
        br.tail = " " + (br.tail or "")
    return " ".join("".join(el.itertext()).split())


def body_rows(table: etree._Element) -> list[list[etree._Element]]:
    """A table's slot rows (after its two title rows), each as its cells."""
    return [list(tr.iter("TD")) for tr in table.findall("TR")[2:]]


def topology(xml: str, growth: bool = False) -> Topology:
    topo, errors = assigned_topology(etree.ElementTree(etree.fromstring(xml)), growth=False)
    assert errors == [] and topo is not None
    if growth:
        topo = dataclasses.replace(topo, growth=Growth(pcie=228, pci=509, at_least=True))
    return topo


def pc_bridges() -> str:
    """pc with pci-bridges plugged out of their index order: bus 1 in 00:07.0, bus 2 in
    00:03.0, bus 3 in 02:01.0; a disk at 00:05.0, an e1000 at 03:02.0."""
    return domain(
        "bridges",
        "pc",
        [
            disk("vda", "virtio", address=pci(5)),
            controller("pci", "pci-root", 0),
            controller("pci", "pci-bridge", 1, pci(7)),
            controller("pci", "pci-bridge", 2, pci(3)),
            controller("pci", "pci-bridge", 3, pci(1, bus=2)),
            interface("e1000", pci(2, bus=3)),
            simple("memballoon", " model='none'"),
        ],
    )


def test_every_slot_is_a_row_used_or_free() -> None:
    topo = topology(pc_bridges())
    dot = parse(to_dot(topo))
    assert set(dot.tables) == {f"bus{b.index}" for b in topo.buses}  # pc: no ports inlined
    for bus in topo.buses:
        rows = body_rows(dot.tables[f"bus{bus.index}"])
        used = [r for r in rows if r[0].get("BGCOLOR") != FREE_BG]
        free = [r for r in rows if r[0].get("BGCOLOR") == FREE_BG]
        # one row per function in use, in address order, with what sits there
        assert [text(r[0]) for r in used] == [
            f"{bus.index:02x}:{p.slot:02x}.{p.function:x}" for p in bus.plugged
        ]
        for row, p in zip(used, bus.plugged, strict=True):
            assert all(c.get("BGCOLOR") != FREE_BG for c in row)
            assert row[-1].find(".//I") is None
            if p.bus is None:
                assert text(row[-1]) == p.name
            else:
                assert text(row[-1]) == f"bus {p.bus}: {topo.bus(p.bus).model}"  # type: ignore[union-attr]
                assert row[-1].get("BGCOLOR") == BUS_BG
        # one grey, italic row per run of free slots, and together they are every free slot
        covered = []
        for row in free:
            assert all(c.get("BGCOLOR") == FREE_BG for c in row)
            assert text(row[-1].find(".//I")).startswith("free")
            first, _, last = text(row[0]).split(":")[1].partition("-")
            covered += range(int(first, 16), int(last or first, 16) + 1)
        assert len(covered) == bus.free_slots
        assert set(covered) == set(range(bus.min_slot, bus.max_slot + 1)) - {
            p.slot for p in bus.plugged
        }
    root = body_rows(dot.tables["bus0"])
    assert [text(c) for c in root[-1]] == ["00:08-1f", "free (24 slots)"]


def test_edges_leave_their_slot_in_address_order() -> None:
    dot = parse(to_dot(topology(pc_bridges())))
    # depth first, each table's edges in slot order: 00:03.0 (bus 2, and 02:01.0 bus 3 in
    # it) before 00:07.0 (bus 1), whatever the controllers' indexes
    assert [(tail, port, head) for tail, port, head, _ in dot.edges] == [
        ("bus0", "s3f0", "bus2"),
        ("bus2", "s1f0", "bus3"),
        ("bus0", "s7f0", "bus1"),
    ]
    assert [attrs for *_, attrs in dot.edges] == [
        'tooltip="00:03.0"',
        'tooltip="02:01.0"',
        'tooltip="00:07.0"',
    ]
    # the edge leaves the cell naming the bus, in the row of its slot
    for tail, port, head, _ in dot.edges:
        (cell,) = dot.tables[tail].xpath(f".//TD[@PORT='{port}']")
        assert text(cell).startswith(f"bus {head[3:]}:")
    # a bus's title says where it plugs in
    assert text(dot.tables["bus3"].find("TR/TD")) == "bus 3: pci-bridge in 02:01.0"


@pytest.mark.parametrize("growth", [False, True])
def test_title_is_the_text_reports_summary(growth: bool) -> None:
    topo = topology(pc_bridges(), growth=growth)
    lines = [text(tr) for tr in parse(to_dot(topo)).title.findall("TR")]
    summary = to_text(topo).splitlines()
    assert lines[0] == summary[0] == "pc machine, 4 PCI bus(es)"
    assert lines[1 : 1 + len(room_lines(topo))] == room_lines(topo) == summary[-len(lines) + 2 :]
    assert len(room_lines(topo)) == (2 if growth else 1)
    if growth:
        assert lines[2].endswith(
            "at least 228 PCIe device(s), at least 509 conventional PCI device(s)"
        )
    assert "free" in lines[-1] and "host" in lines[-1]  # the key


def hostdevs() -> str:
    """q35: PCI hostdevs from host 0000:f1:00.0 (placed) and 0000:f3:00.0 (at 00:05.0), an
    SR-IOV interface from 0021:de:1f.1, an mdev."""
    return domain(
        "hostdevs",
        "q35",
        [
            hostdev(0xF1),
            hostdev(0xF3, address=pci(5)),
            "<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0021'"
            " bus='222' slot='0x1f' function='1'/></source></interface>",
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
            "<address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
        ],
    )


def test_host_device_rows_show_the_host_address() -> None:
    topo = topology(hostdevs())
    hosts = {p.name: p.host for b in topo.buses for p in b.plugged if p.host is not None}
    assert hosts == {
        "hostdev pci #1": "0000:f1:00.0",
        "hostdev pci #2": "0000:f3:00.0",
        "interface #1": "0021:de:1f.1",
        "hostdev mdev #3": "mdev 53764d0e-85a0-42b4-af5c-2046b460b1dc",
    }
    rows = {text(r[0]): r for r in body_rows(parse(to_dot(topo)).tables["bus0"])}
    assert text(rows["00:05.0"][-1]) == "hostdev pci #2 ← host 0000:f3:00.0"
    assert rows["00:05.0"][-1].xpath(".//FONT[starts-with(., '← host')]")
    # the others sit behind root ports, drawn in the root's rows
    behind_ports = [text(r[-1]) for r in rows.values() if len(r) == 4]
    for name, host in hosts.items():
        if name != "hostdev pci #2":
            assert f"{name} ← host {host}" in behind_ports
    assert "← host" not in to_text(topo)  # the text report is unchanged


def test_single_slot_ports_are_rows_of_their_parent() -> None:
    # q35: a disk gets a pcie-root-port of its own; bus 2 an empty port, hotplug off; bus 3 a
    # port holding a pcie-to-pci-bridge (bus 4), whose table hangs off the root's row
    topo = topology(
        domain(
            "ports",
            "q35",
            [
                disk("vda", "virtio", address=pci(0, bus=1)),
                controller("pci", "pcie-root-port", 1, pci(2, function=0, multifunction="on")),
                controller(
                    "pci", "pcie-root-port", 2, pci(2, function=1), ["<target hotplug='off'/>"]
                ),
                controller("pci", "pcie-root-port", 3, pci(2, function=2)),
                controller("pci", "pcie-to-pci-bridge", 4, pci(0, bus=3)),
                controller("usb", "none", 0),
                simple("memballoon", " model='none'"),
            ],
        )
    )
    dot = parse(to_dot(topo))
    assert set(dot.tables) == {"bus0", "bus4"}
    rows = {text(r[0]): [text(c) for c in r] for r in body_rows(dot.tables["bus0"])}
    assert rows["00:02.0"] == ["00:02.0", "pcie-root-port bus 1", "01:00.0", "disk vda"]
    assert rows["00:02.1"] == ["00:02.1", "pcie-root-port bus 2, no hotplug", "free"]
    assert rows["00:02.2"] == [
        "00:02.2",
        "pcie-root-port bus 3",
        "03:00.0",
        "bus 4: pcie-to-pci-bridge",
    ]
    assert [(t, p, h) for t, p, h, _ in dot.edges] == [("bus0", "s2f2", "bus4")]
    (free,) = [r for r in body_rows(dot.tables["bus0"]) if text(r[0]) == "00:02.1"]
    assert free[-1].get("BGCOLOR") == FREE_BG and text(free[-1].find(".//I")) == "free"


def _bridge(index: int, slot: int, devices: int, parent: int = 0) -> Bus:
    rules = BUS_MODELS["pci-bridge"]
    plugged = tuple(Plugged(s, 0, f"interface #{index}.{s} (e1000)") for s in range(1, devices + 1))
    return Bus(
        index,
        "pci-bridge",
        (0, parent, slot, 0),
        ("standard PCI device", "pci-bridge"),
        True,
        True,
        rules.min_slot,
        rules.max_slot,
        plugged,
    )


def many_bridges() -> Topology:
    """pc with 30 full pci-bridges in 00:02.0-1f.0, as `assign --grow deep` builds them."""
    bridges = [_bridge(i, i + 1, 31) for i in range(1, 31)]
    plugged = [Plugged(1, 0, "PIIX3 ISA bridge (chipset)")]
    plugged += [Plugged(b.index + 1, 0, "pci-bridge", b.index) for b in bridges]
    root = Bus(
        0,
        "pci-root",
        None,
        ("standard PCI device", "pci-bridge"),
        True,
        True,
        1,
        31,
        tuple(plugged),
    )
    return Topology("pc", (root, *bridges), Room(0, 0, 0, 0))


def test_many_bridges_are_a_grid_not_a_column() -> None:
    topo = many_bridges()
    dot = parse(to_dot(topo))
    assert set(dot.tables) == {f"bus{i}" for i in range(31)}
    (columns,) = dot.grids.values()
    assert 4 <= len(columns) <= 10  # about square: 30 tables of 34 rows, each ~15 rows wide
    # every bridge once, in address order, column by column
    assert [n for column in columns for n in column] == [f"bus{i}" for i in range(1, 31)]
    assert max(map(len, columns)) - min(map(len, columns)) <= 2
    # one edge into the grid instead of thirty
    assert dot.edges == [("bus0", "head", "bus1", "lhead=cluster_on0")]


def test_a_tall_table_wraps_and_its_edges_leave_on_the_right() -> None:
    # q35 root with 120 functions in use: the table wraps into columns; the edge from a
    # slot in the left column leaves from the far right of its line
    rules = BUS_MODELS["pcie-root"]
    plugged = [Plugged(s, f, f"device {s}.{f}") for s in range(1, 16) for f in range(8)]
    plugged[3] = Plugged(1, 3, "pcie-to-pci-bridge", 1)
    root = Bus(
        0,
        "pcie-root",
        None,
        ("PCI Express device",),
        False,
        False,
        rules.min_slot,
        rules.max_slot,
        tuple(plugged),
    )
    bridge = dataclasses.replace(_bridge(1, 1, 2), model="pcie-to-pci-bridge", address=(0, 0, 1, 3))
    dot = parse(to_dot(Topology("q35", (root, bridge), Room(0, 0, 0, 0))))
    table = dot.tables["bus0"]
    rows = body_rows(table)
    width = sum(int(cell.get("COLSPAN", "1")) for cell in rows[0])
    assert len(rows) < len(plugged) and width == 2 * 4 + 1  # two columns, and a way out
    ((tail, port, head, _),) = dot.edges
    assert (tail, head) == ("bus0", "bus1")
    (out,) = table.xpath(f".//TD[@PORT='{port}']")
    assert out.getparent().index(out) == len(out.getparent()) - 1 and text(out) == "bus 1"
    assert out.getparent()[0].xpath("string()") == "00:01.3"


def test_labels_are_escaped() -> None:
    rules = BUS_MODELS["pci-root"]
    root = Bus(
        0,
        "pci-root",
        None,
        ("standard PCI device",),
        True,
        True,
        rules.min_slot,
        rules.max_slot,
        (Plugged(2, 0, 'disk <a&b> "c"', host="x<y>"),),
    )
    dot = parse(to_dot(Topology("pc", (root,), Room(0, 0, 0, 0))))
    row = body_rows(dot.tables["bus0"])[1]  # after 00:01 free
    assert text(row[-1]) == 'disk <a&b> "c" ← host x<y>'


def test_svg_through_graphviz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dot_program = shutil.which("dot")
    if dot_program is None:
        pytest.skip("Graphviz's dot is not installed (Debian: apt-get install graphviz)")
    # Graphviz reads every label without a warning (an HTML label it cannot parse is only
    # a warning, and the node is drawn without it)
    for topo in (topology(hostdevs(), growth=True), many_bridges()):
        proc = subprocess.run(
            [dot_program, "-Tsvg"], input=to_dot(topo).encode(), capture_output=True, check=False
        )
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    path = tmp_path / "hostdevs.xml"
    path.write_text(hostdevs())
    assert main(["topology", "--no-growth", "--format", "svg", str(path)]) == 0
    svg = etree.fromstring(capsys.readouterr().out.encode())
    words = " ".join(" ".join(svg.itertext()).split())
    assert "room without changing the topology:" in words
    assert "← host 0000:f3:00.0" in words and "free (" in words
