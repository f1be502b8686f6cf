"""Machine types beyond pc, q35, virt, vexpress, pseries and s390-ccw, as each libvirt handles them.

The expected answers are both daemons' (``../shared/oracle/libvirt-assign --libvirt 9.0|11.3``
on the same minimal inputs); the 9.0 answers of richer inputs are fixtures
(``fixtures/machine-*``).
"""

from __future__ import annotations

import pytest
from lxml import etree

from virtaddr import api
from virtaddr.libvirt.machine import Machine


@pytest.mark.parametrize(
    ("arch", "name", "family", "has_pci"),
    [
        ("x86_64", "pc-i440fx-7.2", "pc", True),
        ("x86_64", "pc-q35-10.0", "q35", True),
        ("x86_64", "isapc", "x86", True),
        ("i686", "microvm", "x86", True),
        ("armv7l", "versatilepb", "versatilepb", True),
        ("aarch64", "virt-10.0", "virt", True),
        ("armv7l", "vexpress-a9", "vexpress", False),
        ("aarch64", "realview-pbx-a9", "arm-board", False),
        ("armv6l", "raspi1ap", "arm-board", False),
        ("riscv64", "virt", "virt", True),
        ("riscv64", "sifive_u", "riscv-board", False),
        ("ppc64", "pseries-7.2", "pseries", True),
        ("ppc64le", "powernv9", "ppc64", True),
        ("ppc64", "mac99", "ppc64", True),
        ("ppc", "mac99", "ppc", True),
        ("ppc", "ppce500", "ppc", True),
        ("s390x", "s390-ccw-virtio-7.2", "s390-ccw", True),
        ("sparc", "SS-5", "other", True),
    ],
)
def test_family(arch: str, name: str, family: str, has_pci: bool) -> None:
    machine = Machine(arch, name)
    assert (machine.family, machine.has_pci) == (family, has_pci)


def test_builtin_ide_by_name_as_libvirt() -> None:
    assert Machine("x86_64", "pc").has_builtin_ide
    assert Machine("ppc", "g3beige").has_builtin_ide
    assert not Machine("x86_64", "isapc").has_builtin_ide
    assert not Machine("ppc", "mac99").has_builtin_ide
    assert not Machine("aarch64", "").has_builtin_ide  # i440fx's empty name is x86's alone


def minimal(arch: str, machine: str) -> str:
    emulator = {"armv7l": "arm", "ppc": "ppc"}.get(arch, arch)
    return (
        "<domain type='qemu'><name>m</name><memory>524288</memory>\n"
        f"  <os><type arch='{arch}' machine='{machine}'>hvm</type></os>\n"
        f"  <devices><emulator>/usr/bin/qemu-system-{emulator}</emulator></devices>\n"
        "</domain>"
    )


def controllers(xml: str) -> list[tuple[str | None, str | None, str | None]]:
    """(type, model, PCI slot or None) of every controller, in order."""
    found = []
    for c in etree.fromstring(xml.encode()).iterfind("devices/controller"):
        address = c.find("address")
        found.append(
            (c.get("type"), c.get("model"), None if address is None else address.get("slot"))
        )
    return found


# Both daemons' answers (controllers only: no other device gets an address here).
ARM_BOARDS = {
    ("armv7l", "versatilepb", "9.0"): [],
    ("armv7l", "versatilepb", "11.3"): [("usb", "pci-ohci", "0x01"), ("pci", "pci-root", None)],
    ("aarch64", "versatilepb", "11.3"): [("usb", "pci-ohci", "0x01"), ("pci", "pci-root", None)],
    ("aarch64", "realview-pbx-a9", "9.0"): [],
    ("aarch64", "realview-pbx-a9", "11.3"): [("usb", "pci-ohci", None)],
    ("armv7l", "realview-eb", "11.3"): [("usb", "pci-ohci", None)],
    ("armv7l", "vexpress-a9", "11.3"): [],
}


@pytest.mark.parametrize(("arch", "machine", "version"), list(ARM_BOARDS))
def test_arm_boards_default_controllers_per_version(arch: str, machine: str, version: str) -> None:
    result = api.assign_xml(minimal(arch, machine), libvirt=version)
    assert result.xml is not None, result.problems
    assert controllers(result.xml) == ARM_BOARDS[(arch, machine, version)]


@pytest.mark.parametrize(
    ("arch", "machine", "usb"),
    [("ppc64", "powernv9", "qemu-xhci"), ("ppc", "mac99", "piix3-uhci")],
)
@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_powerpc_machines_alike_in_both_versions(
    arch: str, machine: str, usb: str, version: str
) -> None:
    """USB controller 0 in slot 1, the pci-root, a virtio memballoon in slot 2."""
    result = api.assign_xml(minimal(arch, machine), libvirt=version)
    assert result.xml is not None, result.problems
    assert controllers(result.xml) == [("usb", usb, "0x01"), ("pci", "pci-root", None)]
    balloon = etree.fromstring(result.xml.encode()).find("devices/memballoon/address")
    assert balloon is not None and balloon.get("slot") == "0x02"


def test_board_qemu_10_dropped_is_refused_by_11_3_only() -> None:
    xml = minimal("ppc", "ref405ep")
    assert api.assign_xml(xml, libvirt="9.0").ok
    refused = api.assign_xml(xml, libvirt="11.3")
    assert [p.message for p in refused.problems] == [
        "Emulator '/usr/bin/qemu-system-ppc' does not support machine type 'ref405ep'"
    ]
