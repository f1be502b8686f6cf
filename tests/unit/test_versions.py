"""The libvirt version rules (``virtaddr.passes.versions``) and how a version is chosen.

Each minimal input is one of ``../shared/docs/libvirt-11.3-differences.md`` (rule N), with
both daemons' answers as checked with ``../shared/oracle/libvirt-assign --libvirt 9.0|11.3``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from lxml import etree

from virtaddr import api
from virtaddr.cli import main
from virtaddr.commands import version_option
from virtaddr.passes.versions import (
    DEFAULT,
    LIBVIRT_9_0,
    LIBVIRT_11_3,
    RULES,
    VERSIONS,
    LibvirtRules,
    rules_for,
    rules_for_host,
)
from virtaddr.profile import HypervisorProfile


def domain(devices: str, machine: str = "pc", arch: str = "x86_64") -> str:
    emulator = "x86_64" if arch == "x86_64" else arch
    return (
        "<domain type='qemu'><name>p</name><memory>131072</memory>\n"
        f"  <os><type arch='{arch}' machine='{machine}'>hvm</type></os>\n"
        f"  <devices><emulator>/usr/bin/qemu-system-{emulator}</emulator>\n"
        f"{devices}\n<memballoon model='none'/></devices></domain>"
    )


def addresses(xml: str, xpath: str) -> list[dict[str, str]]:
    root = etree.fromstring(xml.encode())
    return [dict(a.attrib) for a in root.iterfind(f"devices/{xpath}/address")]


# ---------------------------------------------------------------------------- the rules


def test_one_rules_object_per_version_newest_default() -> None:
    assert VERSIONS == ("9.0", "11.3")
    assert DEFAULT == "11.3"
    assert rules_for() is LIBVIRT_11_3 is RULES["11.3"] is rules_for("11.3.0")
    assert rules_for("9.0") is LIBVIRT_9_0
    with pytest.raises(ValueError, match=r"unsupported libvirt version '10\.0'"):
        rules_for("10.0")
    with pytest.raises(AttributeError):
        LIBVIRT_9_0.version = "9.1"  # type: ignore[misc]


def test_every_switch_is_a_named_field_that_differs_or_is_data() -> None:
    switches = [n for n in LibvirtRules._fields if isinstance(getattr(LIBVIRT_9_0, n), bool)]
    assert switches, "no behaviour switches"
    for name in switches:  # a switch both versions set alike would be dead weight
        assert getattr(LIBVIRT_9_0, name) != getattr(LIBVIRT_11_3, name), name
    assert LIBVIRT_11_3.machine_aliases[("x86_64", "q35")] == "pc-q35-10.0"
    assert LIBVIRT_9_0.machine_aliases[("x86_64", "pc")] == "pc-i440fx-7.2"
    assert "pc-i440fx-2.1" in LIBVIRT_11_3.dropped_machines
    assert not LIBVIRT_9_0.dropped_machines


@pytest.mark.parametrize(
    ("host", "chosen", "exact"),
    [
        ((9, 0, 0), "9.0", True),
        ((9, 0, 5), "9.0", True),
        ((10, 10, 0), "9.0", False),
        ((11, 3, 0), "11.3", True),
        ((11, 4, 0), "11.3", False),
        ((12, 0, 0), "11.3", False),
        ((8, 0, 0), "9.0", False),  # older than every supported one: the oldest
    ],
)
def test_host_version_picks_the_newest_not_newer(
    host: tuple[int, int, int], chosen: str, exact: bool
) -> None:
    rules, is_exact = rules_for_host(host)
    assert (rules.version, is_exact) == (chosen, exact)


def test_connect_profile_chooses_the_version_and_says_so_when_not_exact(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(libvirt=None)
    host = HypervisorProfile(name="h", libvirt_version=(11, 3, 0))
    assert version_option.from_args(args, "assign", host) == "11.3"
    assert capsys.readouterr().err == ""
    newer = HypervisorProfile(name="h", libvirt_version=(12, 1, 0))
    assert version_option.from_args(args, "assign", newer) == "11.3"
    assert capsys.readouterr().err.count("\n") == 1  # one line on stderr
    assert version_option.from_args(argparse.Namespace(libvirt="9.0"), "assign", newer) == "9.0"
    assert version_option.from_args(args, "assign") is None  # the newest, chosen later


# ---------------------------------------------------------------------------- the front doors

# Rule 1: a disk names SCSI controller 1, which libvirt adds.
SCSI1 = domain(
    "<controller type='scsi' index='0'/><controller type='virtio-serial' index='0'/>\n"
    "<disk type='file' device='disk'><source file='/tmp/a.img'/>"
    "<target dev='sdb' bus='scsi'/>"
    "<address type='drive' controller='1' bus='0' target='0' unit='0'/></disk>"
)
SCSI1_SLOTS = {"9.0": ("0x02", "0x04", "0x03"), "11.3": ("0x02", "0x03", "0x04")}


def _slots(xml: str) -> tuple[str, ...]:
    root = etree.fromstring(xml.encode())
    found = {}
    for c in root.iterfind("devices/controller"):
        if c.get("type") in ("scsi", "virtio-serial"):
            found[(c.get("type"), c.get("index"))] = c.find("address").get("slot")  # type: ignore[union-attr]
    return found[("scsi", "0")], found[("scsi", "1")], found[("virtio-serial", "0")]


@pytest.mark.parametrize("version", VERSIONS)
def test_api_and_cli_follow_the_version(version: str, tmp_path: Path) -> None:
    result = api.assign_xml(SCSI1, libvirt=version)
    assert result.xml is not None
    assert _slots(result.xml) == SCSI1_SLOTS[version]
    src, out = tmp_path / "in.xml", tmp_path / "out.xml"
    src.write_text(SCSI1)
    assert main(["assign", "--libvirt", version, str(src), "-o", str(out)]) == 0
    assert _slots(out.read_text()) == SCSI1_SLOTS[version]


def test_default_is_the_newest(tmp_path: Path) -> None:
    result = api.assign_xml(SCSI1)
    assert result.xml is not None
    assert _slots(result.xml) == SCSI1_SLOTS["11.3"]
    src, out = tmp_path / "in.xml", tmp_path / "out.xml"
    src.write_text(SCSI1)
    assert main(["assign", str(src), "-o", str(out)]) == 0  # the quick path, too
    assert _slots(out.read_text()) == SCSI1_SLOTS["11.3"]


def test_unsupported_version_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"supported: 9\.0, 11\.3"):
        api.assign_xml(SCSI1, libvirt="8.0")
    with pytest.raises(ValueError):
        api.check(SCSI1, libvirt="8.0")
    src = tmp_path / "in.xml"
    src.write_text(SCSI1)
    for command in ("assign", "check", "topology"):
        assert main([command, "--libvirt", "8.0", str(src)]) == 2
        assert "invalid choice: '8.0'" in capsys.readouterr().err


# Rule 6: an empty USB cdrom; 9.0 accepts it (usb 0:1), 11.3 refuses it.
EMPTY_USB = domain(
    "<disk type='file' device='cdrom'><target dev='sda' bus='usb'/><readonly/></disk>"
)


def test_check_and_plan_follow_the_version(tmp_path: Path) -> None:
    assert [p.message for p in api.check(EMPTY_USB, libvirt="9.0") if p.is_error] == []
    errors = [p.message for p in api.check(EMPTY_USB, libvirt="11.3") if p.is_error]
    assert errors == ["'usb' disk must not be empty"]
    src = tmp_path / "in.xml"
    src.write_text(EMPTY_USB)
    assert main(["check", "--libvirt", "9.0", str(src)]) == 0
    assert main(["check", "--libvirt", "11.3", str(src)]) == 1
    device = tmp_path / "nic.xml"
    device.write_text("<interface type='user'><model type='virtio'/></interface>")
    assert main(["plan", "--libvirt", "9.0", str(src), str(device), "-o", "-"]) == 0
    assert main(["plan", "--libvirt", "11.3", str(src), str(device)]) == 1
    assert main(["topology", "--libvirt", "9.0", "--no-growth", str(src)]) == 0
    assert main(["topology", "--libvirt", "11.3", "--no-growth", str(src)]) == 1


# ---------------------------------------------------------------------------- the differences


def test_rule_2_usb_ports_in_device_walk_order() -> None:
    devices = (
        "<controller type='usb' index='0' model='qemu-xhci' ports='8'/>\n"
        "<input type='tablet' bus='usb'/>\n"
        "<serial type='pty'><target type='usb-serial'/></serial>\n"
        "<sound model='usb'/>\n"
        "<disk type='file' device='disk'><source file='/tmp/a.img'/>"
        "<target dev='sda' bus='usb'/></disk>\n"
        "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
        "<product id='0xbeef'/></source></hostdev>\n"
        "<smartcard mode='passthrough' type='spicevmc'/>\n"
        "<redirdev bus='usb' type='spicevmc'/>\n<graphics type='spice'/>"
    )
    expected = {  # the doc's table: device -> port
        "9.0": {"hostdev": 1, "disk": 2, "controller": 3, "input": 4, "serial": 5, "sound": 6},
        "11.3": {"disk": 1, "sound": 2, "hostdev": 3, "controller": 4, "serial": 5, "input": 6},
    }
    for version, ports in expected.items():
        xml = api.assign_xml(domain(devices), libvirt=version).xml
        assert xml is not None
        for tag, port in ports.items():
            xpath = "controller[@type='ccid']" if tag == "controller" else tag
            assert addresses(xml, xpath)[0]["port"] == str(port), (version, tag)
        assert addresses(xml, "redirdev")[0]["port"] == "7"


def test_rule_2_usb_net_is_a_usb_device_in_11_3() -> None:
    nic = "<interface type='user'><model type='usb-net'/></interface>"
    assert not api.assign_xml(domain(nic), libvirt="9.0").ok  # 9.0: no PCI bus for flags 00
    xml = api.assign_xml(domain(nic), libvirt="11.3").xml
    assert xml is not None
    assert addresses(xml, "interface") == [{"type": "usb", "bus": "0", "port": "1"}]


def test_rule_3_q35_gets_an_itco_watchdog_in_11_3() -> None:
    text = domain("<watchdog model='i6300esb' action='poweroff'/>", machine="q35")
    for version, itco in (("9.0", 0), ("11.3", 1)):
        xml = api.assign_xml(text, libvirt=version).xml
        assert xml is not None
        root = etree.fromstring(xml.encode())
        found = root.findall("devices/watchdog[@model='itco']")
        assert len(found) == itco
        assert all(w.get("action") == "poweroff" and w.find("address") is None for w in found)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (EMPTY_USB, "'usb' disk must not be empty"),  # rule 6
        (
            domain("<watchdog model='ib700' action='reset'/>", machine="q35"),  # rule 7
            "ib700 model of watchdog cannot be used with this machine type",
        ),
        (
            domain("<interface type='user'/>", machine="pc-i440fx-2.1"),  # rule 8
            "Emulator '/usr/bin/qemu-system-x86_64' does not support machine type 'pc-i440fx-2.1'",
        ),
    ],
)
def test_refused_by_11_3_only(text: str, message: str) -> None:
    assert api.assign_xml(text, libvirt="9.0").ok
    refused = api.assign_xml(text, libvirt="11.3")
    assert refused.xml is None
    assert [p.message for p in refused.problems] == [message]


def test_rule_9_validation_before_duplicate_drive_addresses() -> None:
    scsi = "<disk type='file' device='disk'><source file='/tmp/{0}.img'/>" + (
        "<target dev='sd{0}' bus='scsi'/>"
        "<address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>"
    )
    text = domain(
        "<disk type='file' device='cdrom'><target dev='sdb' bus='usb'/><readonly/></disk>"
        + scsi.format("a")
        + scsi.format("c")
    )
    first = {v: api.assign_xml(text, libvirt=v).problems[0].message for v in VERSIONS}
    assert first["9.0"].startswith("Found duplicate drive address for disk with target name 'sda'")
    assert first["11.3"] == "'usb' disk must not be empty"


def test_several_watchdogs_in_11_3() -> None:
    two = domain(
        "<watchdog model='i6300esb' action='reset'/><watchdog model='ib700' action='reset'/>"
    )
    assert [p.message for p in api.assign_xml(two, libvirt="9.0").problems] == [
        "only a single watchdog device is supported"
    ]
    assert api.assign_xml(two, libvirt="11.3").ok
    mixed = two.replace(
        "action='reset'/><watchdog model='ib700'", "action='poweroff'/><watchdog model='ib700'"
    )
    assert [p.message for p in api.assign_xml(mixed, libvirt="11.3").problems] == [
        "watchdogs with different actions are not supported with this QEMU binary"
    ]
