"""virtaddr topology: the PCI tree, its room, the renderers and the JSON schema.

Expected values are reasoned by hand from a small q35 domain whose topology is explicit.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from domainxml import controller, disk, domain, interface, pci, simple
from virtaddr.cli import main
from virtaddr.commands.topology import to_dot, to_json, to_text
from virtaddr.passes.versions import LIBVIRT_9_0
from virtaddr.topology import assigned_topology

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "topology.schema.json"


def q35_hand() -> str:
    """Ports 00:02.0-3: a disk in bus 1, bus 2 hotplug='off' (empty), a pcie-to-pci-bridge
    (bus 4, an e1000 at 04:01.0) in bus 3, bus 5 empty."""
    return domain(
        "hand",
        "q35",
        [
            disk("vda", "virtio", address=pci(0, bus=1)),
            controller("pci", "pcie-root", 0),
            controller("pci", "pcie-root-port", 1, pci(2, function=0, multifunction="on")),
            controller("pci", "pcie-root-port", 2, pci(2, function=1), ["<target hotplug='off'/>"]),
            controller("pci", "pcie-root-port", 3, pci(2, function=2)),
            controller("pci", "pcie-to-pci-bridge", 4, pci(0, bus=3)),
            controller("pci", "pcie-root-port", 5, pci(2, function=3)),
            controller("usb", "none", 0),
            interface("e1000", pci(1, bus=4)),
            simple("memballoon", " model='none'"),
        ],
    )


def _tree(text: str) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(text.encode()))


def test_tree_and_room_by_hand() -> None:
    topo, errors = assigned_topology(_tree(q35_hand()), growth=False, rules=LIBVIRT_9_0)
    assert errors == [] and topo is not None
    assert [(b.index, b.model) for b in topo.buses] == [
        (0, "pcie-root"),
        (1, "pcie-root-port"),
        (2, "pcie-root-port"),
        (3, "pcie-root-port"),
        (4, "pcie-to-pci-bridge"),
        (5, "pcie-root-port"),
    ]
    bus2, bus4 = topo.bus(2), topo.bus(4)
    assert bus2 is not None and not bus2.hotplug and bus2.free_slots == 1
    assert bus4 is not None and bus4.address == (0, 3, 0, 0) and bus4.used_slots == 1
    assert bus4.free_slots == 30
    root = topo.bus(0)
    assert root is not None
    # 00:02.0-3 root ports, 00:1f.0/.3 chipset, 00:1f.2 the implicit SATA controller
    assert [(p.slot, p.function, p.bus) for p in root.plugged] == [
        (2, 0, 1), (2, 1, 2), (2, 2, 3), (2, 3, 5), (0x1F, 0, None), (0x1F, 2, None),
        (0x1F, 3, None),
    ]  # fmt: skip
    assert (topo.room.pcie, topo.room.hotplug_pcie) == (2, 1)  # buses 2 and 5; 2 is off
    assert (topo.room.pci, topo.room.hotplug_pci) == (30, 30)


def test_text_dot_and_json_schema() -> None:
    topo, _ = assigned_topology(_tree(q35_hand()), growth=False, rules=LIBVIRT_9_0)
    assert topo is not None
    text = to_text(topo)
    assert "│   └── 03:00.0 pcie-to-pci-bridge bus 4 [hotpluggable" in text
    assert "├── 00:02.1 pcie-root-port bus 2 [not hotpluggable" in text
    assert "04:01.0 interface #1 (e1000)" in text
    assert "2 PCIe device(s) (1 hotpluggable), 30 conventional PCI device(s)" in text
    dot = to_dot(topo)
    # root port bus 3 is drawn in bus 0's row 00:02.2; the bridge's table hangs off that row
    assert dot.startswith("digraph pci {") and "  bus0:s2f2:e -> bus4:head:w" in dot
    report = to_json(topo, "hand.xml")
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert report["room"] == {"pcie": 2, "pci": 30, "hotplug_pcie": 1, "hotplug_pci": 30}


def test_pc_counts_every_slot_as_conventional() -> None:
    # pc with a virtio disk (no graphics, so no video): slot 1 chipset + IDE + USB, the disk
    # at 00:02.0 (the first free slot), the default virtio memballoon at 00:03.0
    text = domain("pc", "pc", [disk("vda", "virtio")])
    topo, errors = assigned_topology(_tree(text), growth=False, rules=LIBVIRT_9_0)
    assert errors == [] and topo is not None
    root = topo.bus(0)
    assert root is not None and root.model == "pci-root" and root.hotplug
    used = {p.slot for p in root.plugged}
    assert used == {1, 2, 3}
    assert topo.room.pci == topo.room.pcie == topo.room.hotplug_pci == 31 - 3


def test_cli_json_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hand.xml"
    path.write_text(q35_hand())
    assert main(["topology", "--libvirt", "9.0", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    growth = report["growth"]
    # growth adds root ports on free root-complex functions: many more than the 2 free ports
    assert growth["pcie"] > 2 and growth["pci"] > 30 and not growth["at_least"]


def test_cli_svg_needs_graphviz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hand.xml"
    path.write_text(q35_hand())
    status = main(["topology", "--libvirt", "9.0", "--no-growth", "--format", "svg", str(path)])
    captured = capsys.readouterr()
    if shutil.which("dot") is None:
        assert status == 2 and "needs Graphviz" in captured.err and captured.out == ""
    else:
        assert status == 0 and "<svg" in captured.out


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<domain")
    assert main(["topology", "--libvirt", "9.0", str(bad)]) == 2
    clash = tmp_path / "clash.xml"
    clash.write_text(
        domain("c", "pc", [disk("vda", "virtio", address=pci(5)), interface("e1000", pci(5))])
    )
    assert main(["topology", "--libvirt", "9.0", "--no-growth", str(clash)]) == 1
    assert "Attempted double use of PCI Address 0000:00:05.0" in capsys.readouterr().err
