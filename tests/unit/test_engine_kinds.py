"""The drive, USB, ccid and dimm stages on the allocator: libvirt's order and rules.

Expected values come from libvirt 9.0 (the live oracle) where it shows them, else from its
source's rule as stated in each test.
"""

from __future__ import annotations

from lxml import etree

from virtaddr import api
from virtaddr.libvirt.domain import Domain
from virtaddr.passes import drive, other


def domain(devices: str, extra: str = "") -> str:
    return (
        "<domain type='qemu'><name>k</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>\n"
        f"{extra}<os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        f"{devices}</devices></domain>"
    )


def addresses(xml: str, tag: str) -> list[dict[str, str]]:
    root = etree.fromstring(xml.encode())
    return [dict(a.attrib) for a in root.iterfind(f"devices/{tag}/address")]


def test_usb_ports_of_a_level_before_its_hubs() -> None:
    # libvirt 9.0: with port 1 holding a hub, the next device takes root port 2, then the hub's.
    text = domain(
        "<controller type='usb' index='0' model='piix3-uhci'/>\n"
        "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>\n"
        "<input type='tablet' bus='usb'/><input type='mouse' bus='usb'/>\n"
        "<input type='keyboard' bus='usb'/>\n"
    )
    out = api.assign_xml(text, libvirt="9.0").xml
    assert [a["port"] for a in addresses(out, "input")] == ["2", "1.1", "1.2"]


def test_usb_duplicate_port_in_check_names_the_holder() -> None:
    text = domain(
        "<controller type='usb' index='0' model='piix3-uhci'/>\n"
        "<input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>\n"
        "<input type='mouse' bus='usb'><address type='usb' bus='0' port='1'/></input>\n"
    )
    found = [p for p in api.check(text, libvirt="9.0") if p.is_error]
    assert [p.message for p in found] == [
        "Duplicate USB address bus 0 port 1 (already used by input tablet #1 at line 5)"
    ]


def _stage_domain(text: str) -> Domain:
    return Domain(etree.ElementTree(etree.fromstring(text.encode())))


def test_ccid_slot_after_the_highest_compared_as_an_int() -> None:
    # virDomainDefMaybeAddSmartcardController: max over controller 0's slots as an int, so a
    # slot past INT_MAX counts as negative and the new card takes slot 0.
    card = "<smartcard mode='passthrough' type='spicevmc'>{}</smartcard>\n"
    explicit = "<address type='ccid' controller='0' slot='{}'/>"
    for slot, want in (("3", 4), ("2147483648", 0)):
        d = _stage_domain(domain(card.format(explicit.format(slot)) + card.format("")))
        other.assign_smartcards(d)
        assert d.lists["smartcard"][1].addr == {"controller": 0, "slot": want}


def test_dimm_slots_reserved_then_lowest_free() -> None:
    mem = (
        "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target>"
        "{}</memory>\n"
    )
    slot = "<address type='dimm' slot='{}'/>"
    extra = "<maxMemory slots='3' unit='KiB'>8388608</maxMemory>\n"
    d = _stage_domain(domain(mem.format(slot.format(0)) + mem.format(""), extra))
    assert other.assign_dimm_slots(d) == []
    assert d.lists["memory"][1].addr == {"slot": 1}
    d = _stage_domain(
        domain(
            mem.format(slot.format(1)) + mem.format(slot.format(1)) + mem.format(slot.format(5)),
            extra,
        )
    )
    assert [p.message for p in other.assign_dimm_slots(d)] == [
        "memory device slot '1' is already being used by another memory device",
        "memory device slot '5' exceeds slots count '3'",
    ]


def test_scsi_hostdev_takes_the_first_unit_no_disk_holds() -> None:
    # virDomainHostdevAssignAddress: controller 0, bus 0, target 0, the first unit not used.
    disk = (
        "<disk type='file' device='disk'><source file='/{0}'/><target dev='{0}' bus='scsi'/>"
        "</disk>\n"
    )
    hostdev = (
        "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
        "<address bus='0' target='0' unit='{}'/></source></hostdev>\n"
    )
    out = api.assign_xml(
        domain(disk.format("sda") + disk.format("sdc") + hostdev.format(0)), libvirt="9.0"
    ).xml
    assert [a["unit"] for a in addresses(out, "disk")] == ["0", "2"]
    assert addresses(out, "hostdev")[-1] == {
        "type": "drive",
        "controller": "0",
        "bus": "0",
        "target": "0",
        "unit": "1",
    }


def test_drive_spaces_keep_buses_apart() -> None:
    spaces = drive.DriveSpaces()
    assert spaces.reserve("scsi", (0, 0, 0, 0), "a") is None
    assert spaces.reserve("ide", (0, 0, 0, 0), "b") is None
    assert spaces.reserve("scsi", (0, 0, 0, 0), "c") == "a"
    assert spaces.reserve_first_unit("scsi", 0, 7, "d") == (0, 0, 0, 1)
    assert spaces.reserve_first_unit("scsi", 3, 1, "e") == (3, 0, 0, 0)
    assert spaces.reserve_first_unit("scsi", 3, 1, "f") is None
