"""assign --hotplug-room / --hotplug-room-pci, without libvirt (the oracle test checks libvirt).

Expected placements are reasoned by hand from libvirt's rules: a new pcie-root-port goes on the
lowest free function of the first root-complex slot that is empty or already holds root ports,
with chassis = index and port = slot * 8 + function; a new bridge in the first free slot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from test_topology import q35_hand

from domainxml import domain, interface
from virtaddr.cli import main
from virtaddr.topology import read_topology


def _controllers(path: Path) -> dict[int, tuple[str | None, str | None, str | None, str | None]]:
    root = etree.parse(str(path)).getroot()
    out = {}
    for c in root.iter("controller"):
        if c.get("type") != "pci":
            continue
        a, t = c.find("address"), c.find("target")
        where = None if a is None else f"{a.get('bus')}:{a.get('slot')}.{a.get('function')}"
        out[int(c.get("index", "-1"))] = (
            c.get("model"),
            where,
            None if t is None else t.get("chassis"),
            None if t is None else t.get("port"),
        )
    return out


def test_q35_root_ports_where_libvirt_puts_them(tmp_path: Path) -> None:
    src, plain, roomy = tmp_path / "in.xml", tmp_path / "plain.xml", tmp_path / "room.xml"
    src.write_text(q35_hand())
    assert main(["assign", "--libvirt", "9.0", str(src), "-o", str(plain)]) == 0
    assert (
        main(["assign", "--libvirt", "9.0", "--hotplug-room", "4", str(src), "-o", str(roomy)]) == 0
    )
    before, after = _controllers(plain), _controllers(roomy)
    assert {i: after[i] for i in before} == before  # nothing existing moved or changed
    # bus 5 is the only free hotpluggable port: three more; slot 1 (no video here) is the
    # first root-complex slot that is empty, so 00:01.0-2 (port = slot * 8 + function)
    assert {i: after[i] for i in set(after) - set(before)} == {
        6: ("pcie-root-port", "0x00:0x01.0x0", "6", "0x8"),
        7: ("pcie-root-port", "0x00:0x01.0x1", "7", "0x9"),
        8: ("pcie-root-port", "0x00:0x01.0x2", "8", "0xa"),
    }
    topo = read_topology(etree.parse(str(roomy)))
    assert topo.room.hotplug_pcie == 4


def test_q35_conventional_room_nests_a_bridge(tmp_path: Path) -> None:
    src, roomy = tmp_path / "in.xml", tmp_path / "room.xml"
    src.write_text(q35_hand())
    # bus 4 (pcie-to-pci-bridge) has 30 free hotpluggable slots: 40 needs one pci-bridge,
    # libvirt puts it in the first free slot, 04:02.0 (04:01.0 holds the e1000)
    assert (
        main(["assign", "--libvirt", "9.0", "--hotplug-room-pci", "40", str(src), "-o", str(roomy)])
        == 0
    )
    new = {i: c for i, c in _controllers(roomy).items() if i > 5}
    assert new == {6: ("pci-bridge", "0x04:0x02.0x0", None, None)}
    topo = read_topology(etree.parse(str(roomy)))
    assert topo.room.hotplug_pci == 29 + 31


def test_pc_room_is_bridge_slots(tmp_path: Path) -> None:
    src, roomy = tmp_path / "in.xml", tmp_path / "room.xml"
    src.write_text(domain("pc", "pc", [interface("e1000")]))
    # used: 00:01 (chipset), 00:02 e1000, 00:03 memballoon: 28 free; 40 + 5 = 45 needs one
    # bridge (28 - 1 + 31 = 58), in the first free slot 00:04.0
    assert main(["assign", "--libvirt", "9.0", "--hotplug-room", "40", "--hotplug-room-pci", "5",
                 str(src), "-o", str(roomy)]) == 0  # fmt: skip
    assert {i: c[:2] for i, c in _controllers(roomy).items() if i} == {
        1: ("pci-bridge", "0x00:0x04.0x0")
    }
    assert read_topology(etree.parse(str(roomy))).room.hotplug_pci == 58


def test_no_room_on_the_root_complex_is_an_address_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.xml"
    src.write_text(q35_hand())
    # 29 free root-complex slots hold at most 8 * 29 + 4 more root ports
    assert (
        main(
            [
                "assign",
                "--libvirt",
                "9.0",
                "--hotplug-room",
                "400",
                str(src),
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert not (tmp_path / "o").exists()
    assert capsys.readouterr().err


def test_bad_counts_are_usage_errors(tmp_path: Path) -> None:
    src = tmp_path / "in.xml"
    src.write_text(q35_hand())
    assert main(["assign", "--libvirt", "9.0", "--hotplug-room", "-1", str(src)]) == 2
    assert main(["assign", "--libvirt", "9.0", "--hotplug-room", "x", str(src)]) == 2
    assert main(["assign", "--libvirt", "9.0", "--grow", "wide", str(src)]) == 2
