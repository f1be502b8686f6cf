"""Beyond libvirt, checked by libvirt: --hotplug-room, topology's growth room, --grow deep.

Each result of ours is defined in the live libvirt, which must accept it and keep every address
(and every controller's model, target and index: ``--controller-details``). Each test runs with
both libvirt versions of the oracle (``libvirt-assign --libvirt VERSION``, our ``--libvirt
VERSION``), skipping one whose daemon is absent; the slow deep cases are shared out between them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from domainxml import disk, domain, interface
from virtaddr.cli import main
from virtaddr.passes.versions import rules_for
from virtaddr.topology import assigned_topology, read_topology

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_topology import q35_hand

from addrcompare import compare_files
from parity import ORACLE_VERSIONS, compare_script

pytestmark = pytest.mark.oracle


def ask(oracle: Path, path: Path, version: str) -> subprocess.CompletedProcess[str]:
    """What libvirt ``version`` makes of ``path``."""
    return subprocess.run(
        [str(oracle / "libvirt-assign"), "--libvirt", version, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def kept_by_libvirt(oracle: Path, ours: Path, version: str) -> Path:
    """libvirt's XML for ``ours``; fails the test unless libvirt keeps every address."""
    proc = ask(oracle, ours, version)
    assert proc.returncode == 0, proc.stderr
    theirs = ours.with_suffix(".libvirt.xml")
    theirs.write_text(proc.stdout)
    assert compare_files(theirs, ours, compare_script()) == []
    return theirs


def _disk_name(i: int) -> str:
    s, i = "", i + 1
    while i:
        i -= 1
        s = chr(ord("a") + i % 26) + s
        i //= 26
    return "vd" + s


def many(machine: str, disks: int, nics: int) -> str:
    devs = [disk(_disk_name(i), "virtio") for i in range(disks)]
    return domain("many", machine, devs + [interface("e1000") for _ in range(nics)])


ROOM_CASES = {
    "q35-hand": q35_hand(),
    "q35-disks": many("q35", 3, 1),
    "q35-bare": domain("bare", "q35", []),
    "pc-nics": many("pc", 2, 2),
}


@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
@pytest.mark.parametrize("name", sorted(ROOM_CASES))
def test_hotplug_room_4_accepted_and_empty(
    name: str, libvirt: str, oracle: Path, tmp_path: Path
) -> None:
    src, ours = tmp_path / "in.xml", tmp_path / "ours.xml"
    src.write_text(ROOM_CASES[name])
    args = ["assign", "--libvirt", libvirt, "--hotplug-room", "4", "--hotplug-room-pci", "3"]
    args += [str(src), "-o", str(ours)]
    assert main(args) == 0
    theirs = kept_by_libvirt(oracle, ours, libvirt)
    topo = read_topology(etree.parse(str(theirs)))
    if name.startswith("q35"):
        empty_ports = [
            b for b in topo.buses if b.model == "pcie-root-port" and b.hotplug and b.free_slots
        ]
        assert len(empty_ports) >= 4
    assert topo.room.hotplug_pci >= (3 if name.startswith("q35") else 7)
    # existing addresses never move: the plain result's devices are where they were
    plain = tmp_path / "plain.xml"
    assert main(["assign", "--libvirt", libvirt, str(src), "-o", str(plain)]) == 0
    problems = compare_files(plain, ours, compare_script())
    assert all(p.startswith("extra") or "extra" in p for p in problems), problems


@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_growth_room_is_libvirts_limit(
    machine: str, libvirt: str, oracle: Path, tmp_path: Path
) -> None:
    text = q35_hand() if machine == "q35" else many("pc", 2, 2)
    topo, _ = assigned_topology(
        etree.ElementTree(etree.fromstring(text.encode())), rules=rules_for(libvirt)
    )
    assert topo is not None and topo.growth is not None
    for model, count in (("virtio", topo.growth.pcie), ("e1000", topo.growth.pci)):
        for n, accepted in ((count, True), (count + 1, False)):
            nics = "\n".join(interface(model) for _ in range(n))
            path = tmp_path / f"{model}-{n}.xml"
            path.write_text(text.replace("    </devices>", nics + "\n    </devices>"))
            proc = ask(oracle, path, libvirt)
            assert (proc.returncode == 0) == accepted, (model, n, proc.stderr)


DEEP_CASES = {
    "pc-3000": ("pc", 1500, 1500),
    "q35-3000": ("q35", 1500, 1500),
    "q35-switch": ("q35", 245, 0),  # past the root complex's functions: one PCIe switch
}
# the two big ones (a few seconds each) shared out between the versions, the switch on both
DEEP_RUNS = [
    ("pc-3000", "9.0"),
    ("q35-3000", "11.3"),
    ("q35-switch", "9.0"),
    ("q35-switch", "11.3"),
]
assert {v for _, v in DEEP_RUNS} == set(ORACLE_VERSIONS)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "libvirt"), DEEP_RUNS)
def test_grow_deep_accepted_with_every_address(
    name: str, libvirt: str, oracle: Path, tmp_path: Path
) -> None:
    machine, disks, nics = DEEP_CASES[name]
    src, ours = tmp_path / "in.xml", tmp_path / "ours.xml"
    src.write_text(many(machine, disks, nics))
    proc = ask(oracle, src, libvirt)
    assert proc.returncode == 1  # libvirt's own growth gives up
    assign = ["assign", "--libvirt", libvirt]
    assert main([*assign, str(src), "-o", str(ours)]) == 1  # so does ours, by default
    assert main([*assign, "--grow", "deep", str(src), "-o", str(ours)]) == 0
    theirs = kept_by_libvirt(oracle, ours, libvirt)
    topo = read_topology(etree.parse(str(theirs)))
    plugged = sum(len(b.plugged) for b in topo.buses)
    assert plugged >= disks + nics
    assert max(b.index for b in topo.buses) <= 255
    if name == "q35-switch":
        assert any(b.model == "pcie-switch-upstream-port" for b in topo.buses)
