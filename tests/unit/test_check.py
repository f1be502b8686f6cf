"""``virtaddr check``: every problem of a hand-written domain, through ``main(argv)``.

Expected problems are reasoned by hand from the rules document (and the libvirt messages it
quotes); the corpus tests (tests/corpus/test_check_corpus.py) hold check to libvirt's verdicts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from virtaddr.checker import check_tree, schemas as check_schemas
from virtaddr.cli import main
from virtaddr.kinds import pci as pci_kind
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import ON_OFF, UINT, USB_PORT
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.versions import LIBVIRT_9_0

REPO = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = json.loads((REPO / "schemas" / "check-report.schema.json").read_text())


def domain(devices: str, machine: str = "pc", extra: str = "") -> str:
    return (
        "<domain type='qemu'>\n"
        "  <name>t</name>\n"
        "  <memory>219136</memory>\n"
        f"{extra}"
        f"  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>\n"
        "  <devices>\n"
        f"{devices}"
        "  </devices>\n"
        "</domain>\n"
    )


def nic(slot: int, function: int = 0, bus: int = 0, extra: str = "") -> str:
    return (
        "    <interface type='user'><model type='e1000'/>"
        f"<address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' "
        f"function='{function:#x}'{extra}/></interface>\n"
    )


def check(text: str, **kw: bool) -> list[Problem]:
    tree = etree.fromstring(text.encode()).getroottree()
    return check_tree(tree, source="t.xml", **kw, rules=LIBVIRT_9_0).problems


def errors(text: str) -> list[Problem]:
    return [p for p in check(text) if p.is_error]


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def run(tmp_path: Path, text: str, *args: str, name: str = "d.xml") -> int:
    path = tmp_path / name
    path.write_text(text)
    return main(["check", "--libvirt", "9.0", *args, str(path)])


# ---------------------------------------------------------------------------- errors


def test_clean_domain_has_no_problem() -> None:
    assert check(domain(nic(3))) == []


def test_every_collision_is_reported_with_both_devices_and_lines() -> None:
    # lines: 6 nic@03, 7 nic@03, 8 nic@04, 9 nic@04 -> two collisions, not only the first
    text = domain(nic(3) + nic(3) + nic(4) + nic(4))
    found = errors(text)
    assert [(p.code, p.line) for p in found] == [("pci-collision", 7), ("pci-collision", 9)]
    first = found[0]
    assert first.message.startswith("Attempted double use of PCI Address 0000:00:03.0")
    assert "interface user #1 at line 6" in first.message
    assert [(r.line, r.device) for r in first.related] == [(6, "interface user #1")]
    assert first.format().startswith("t.xml:7: error: interface user #2: Attempted double use")


@pytest.mark.parametrize(
    ("machine", "slot", "function"),
    [("pc", 1, 0), ("pc", 1, 3), ("q35", 0x1F, 0), ("q35", 0x1F, 3)],
)
def test_chipset_functions_are_reserved(machine: str, slot: int, function: int) -> None:
    found = errors(domain(nic(slot, function), machine))
    assert codes(found) == ["pci-collision"]
    assert "reserved for the" in found[0].message


def test_primary_ide_controller_pins_function_1_1_on_pc() -> None:
    text = domain("    <controller type='ide' index='0'/>\n" + nic(1, 1))
    found = errors(text)
    assert codes(found) == ["pci-collision"]
    assert found[0].line == 7 and found[0].related[0].line == 6


def test_fixed_controller_elsewhere_is_libvirts_error() -> None:
    text = domain(
        "    <controller type='ide' index='0'>"
        "<address type='pci' domain='0' bus='0' slot='5' function='0'/></controller>\n"
    )
    assert [p.message for p in errors(text)] == [
        "Primary IDE controller must have PCI address 0:0:1.1"
    ]


def test_slot_out_of_range_and_bus_rules() -> None:
    # slot 0x20 is refused at parse time; a root port takes only slot 0
    text = domain(
        nic(0x20)
        + "    <controller type='pci' index='1' model='pcie-root-port'/>\n"
        + "    <disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
        "<address type='pci' domain='0' bus='1' slot='2' function='0'/></disk>\n",
        "q35",
    )
    messages = [p.message for p in errors(text)]
    assert "Invalid PCI address slot='0x20', must be <= 0x1F" in messages
    assert "Invalid PCI address 0000:01:02.0. slot must be <= 0" in messages


def test_drive_duplicates_name_both_disks() -> None:
    disks = "".join(
        f"    <disk type='file' device='disk'><target dev='{dev}' bus='scsi'/>"
        "<address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>\n"
        for dev in ("sda", "sdb")
    )
    found = errors(domain(disks))
    assert codes(found) == ["drive-collision"]
    assert found[0].device == "disk sdb" and found[0].related[0].device == "disk sda"


def test_name_derived_drive_address_collides_with_explicit() -> None:
    # hdb derives controller 0 bus 0 unit 1, which hda takes explicitly
    disks = (
        "    <disk type='file' device='disk'><target dev='hda' bus='ide'/>"
        "<address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>\n"
        "    <disk type='file' device='disk'><target dev='hdb' bus='ide'/></disk>\n"
    )
    assert codes(errors(domain(disks))) == ["drive-collision"]


def test_virtio_serial_problems() -> None:
    channels = "".join(
        f"    <channel type='pty'><target type='virtio' name='c{i}'/>"
        f"<address type='virtio-serial' controller='{c}' bus='0' port='{p}'/></channel>\n"
        for i, (c, p) in enumerate([(0, 2), (0, 2), (0, 31)])
    )
    found = errors(domain(channels))
    assert sorted(p.message.split(" (")[0] for p in found) == [
        "virtio serial controller 0 does not have port 31",
        "virtio serial port 2 on controller 0 is already occupied",
    ]


def test_usb_duplicate_names_both_devices() -> None:
    inputs = "".join(
        "    <input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>\n"
        for _ in range(2)
    )
    found = errors(domain(inputs))
    assert [p.message for p in found] == [
        "Duplicate USB address bus 0 port 1 (already used by input tablet #1 at line 6)"
    ]


def test_dimm_slots() -> None:
    mems = "".join(
        f"    <memory model='dimm'><target><size unit='KiB'>1024</size></target>"
        f"<address type='dimm' slot='{s}'/></memory>\n"
        for s in (0, 0, 4)
    )
    extra = "  <maxMemory slots='4' unit='KiB'>1048576</maxMemory>\n"
    assert codes(errors(domain(mems, extra=extra))) == ["dimm-collision", "dimm-range"]


def test_two_smartcards_on_one_slot() -> None:
    cards = "".join(
        "    <smartcard mode='passthrough' type='spicevmc'>"
        "<address type='ccid' controller='0' slot='0'/></smartcard>\n"
        for _ in range(2)
    )
    found = errors(domain(cards))
    assert codes(found) == ["ccid-collision"]
    assert "lacks multiple smartcard support" in found[0].message


def test_address_type_that_does_not_fit_the_device() -> None:
    disk = (
        "    <disk type='file' device='disk'><target dev='sda' bus='scsi'/>"
        "<address type='pci' domain='0' bus='0' slot='5' function='0'/></disk>\n"
    )
    assert [p.message for p in errors(domain(disk))] == [
        "Invalid address type 'pci' for the disk 'sda' with the bus type 'scsi'"
    ]


def test_pipeline_error_is_added_when_not_already_reported() -> None:
    # a PCI controller index beyond 255 is found by the PCI pass only
    text = domain("    <controller type='pci' index='256' model='pci-bridge'/>\n")
    assert [p.message for p in errors(text)] == [
        "PCI controller index 256 too high, maximum is 255"
    ]


def test_unknown_pci_controller_model() -> None:
    # found by test_bad_input's mutations: the explicit pass once crashed on it; libvirt 9.0
    # (live daemon): "unsupported configuration: Unknown model type '0'"
    text = domain(
        "    <controller type='pci' index='1' model='0'>"
        "<address type='pci' domain='0' bus='0' slot='5' function='0'/></controller>\n"
    )
    assert [p.message for p in errors(text)] == ["Unknown model type '0'"]


# ---------------------------------------------------------------------------- warnings


# No USB controller and no balloon: nothing but what the tests put needs a PCI slot.
BARE_Q35 = "    <controller type='usb' index='0' model='none'/>\n    <memballoon model='none'/>\n"


def root_ports(*indexes: int) -> str:
    return "".join(
        f"    <controller type='pci' index='{i}' model='pcie-root-port'/>\n" for i in indexes
    )


def test_conventional_device_on_a_root_port_is_a_warning() -> None:
    found = check(domain(BARE_Q35 + root_ports(1, 2) + nic(0, bus=1), "q35"))
    assert codes(found) == ["pcie-port-conventional"]
    assert not found[0].is_error


def test_endpoint_on_pcie_root_is_a_warning() -> None:
    disk = (
        "    <disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
        "<address type='pci' domain='0' bus='0' slot='5' function='0'/></disk>\n"
    )
    assert codes(check(domain(BARE_Q35 + root_ports(1) + disk, "q35"))) == ["pcie-root-endpoint"]


def test_q35_without_an_empty_root_port() -> None:
    disk = (
        "    <disk type='file' device='disk'><target dev='vda' bus='virtio'/>"
        "<address type='pci' domain='0' bus='1' slot='0' function='0'/></disk>\n"
    )
    found = check(domain(BARE_Q35 + root_ports(1) + disk, "q35"))
    assert codes(found) == ["q35-no-hotplug-port"]
    assert check(domain(BARE_Q35 + root_ports(1, 2) + disk, "q35")) == []


def test_multifunction_warnings() -> None:
    assert codes(check(domain(nic(5, 1)))) == ["multifunction-no-function-0"]
    off = nic(5, 0, extra=" multifunction='off'") + nic(5, 1)
    assert codes(check(domain(off))) == ["multifunction-off"]
    assert check(domain(nic(5, 0, extra=" multifunction='on'") + nic(5, 1))) == []


# ---------------------------------------------------------------------------- address schema


@pytest.mark.parametrize("slot", ["5", "0x05", "005", " 5 "])
def test_numbers_in_all_three_forms_are_accepted(slot: str) -> None:
    text = domain(
        "    <interface type='user'><model type='e1000'/>"
        f"<address type='pci' domain='0' bus='0' slot='{slot}' function='0'/></interface>\n"
    )
    assert check(text) == []


def test_malformed_addresses_are_errors_on_their_line() -> None:
    text = domain(
        "    <interface type='user'><model type='e1000'/>\n"
        "      <address type='pci' domain='0' bus='0' slot='5' multifunction='maybe'/>\n"
        "    </interface>\n"
        "    <disk type='file' device='disk'><target dev='sda' bus='scsi'/>\n"
        "      <address type='drive' controller='0' bus='0' target='0' unit='0x1'/>\n"
        "    </disk>\n"
    )
    found = [p for p in check(text) if p.code in ("address-schema", "libvirt")]
    assert [(p.line, p.code) for p in found] == [(7, "address-schema"), (9, "libvirt")]
    assert "multifunction" in found[0].message
    assert "'unit' in element 'address': '0x1'" in found[1].message


def test_unknown_address_attribute_is_a_warning() -> None:
    text = domain(
        "    <input type='tablet' bus='usb'>"
        "<address type='usb' bus='0' port='1' hub='2'/></input>\n"
    )
    found = check(text)
    assert codes(found) == ["address-attribute"] and not found[0].is_error


def test_xsd_matches_the_address_types() -> None:
    # schemas/address.xsd is written by hand; the declarations in virtaddr.kinds are what the
    # model reads and writes with. Every type, attribute, order, number syntax and bound agrees.
    xsd = etree.parse(str(REPO / "schemas" / "address.xsd"))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema", "vx": "urn:virtaddr:schema-annotations"}
    enum = xsd.iterfind("xs:simpleType[@name='addressType']/xs:restriction/xs:enumeration", ns)
    assert [e.get("value") for e in enum] == list(ADDRESS_TYPES)
    alternatives = {
        a.get("test"): a.get("type") for a in xsd.iterfind("xs:element/xs:alternative", ns)
    }
    assert alternatives == {
        **{f"@type = '{t}'": check_schemas.schema_type(t) for t in ADDRESS_TYPES},
        None: "anyAddress",
    }
    syntax = {ON_OFF: "onOff", USB_PORT: "usbPort"}
    for name, spec in ADDRESS_TYPES.items():
        ctype = xsd.find(f"xs:complexType[@name='{check_schemas.schema_type(name)}']", ns)
        assert ctype is not None, name
        attrs = [a for a in ctype.iterfind("xs:attribute", ns) if a.get("name") != "type"]
        assert [a.get("name") for a in attrs] == list(spec.names), name
        for el, attr in zip(attrs, spec.attrs, strict=True):
            if attr.value != UINT:
                assert el.get("type") == syntax[attr.value], (name, attr.name)
                continue
            number = "numberAuto" if attr.auto_base else "numberDecimal"
            assert el.get("type") == number, (name, attr.name)
            bounds = el.find(".//vx:bounds", ns)
            assert bounds is not None, (name, attr.name)
            assert (int(bounds.get("min"), 0), int(bounds.get("max"), 0)) == (0, attr.hi)
    pci_bounds = [a.hi for a in ADDRESS_TYPES["pci"].attrs if a.value == UINT]
    assert pci_bounds == [f.hi for f in pci_kind.KIND.fields]


def test_xsd_validates_every_address_type() -> None:
    schema = check_schemas.address_schema()
    good = [
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='07'/>",
        "<address type='drive' controller='0' bus='0' target='0' unit='1'/>",
        "<address type='virtio-serial' controller='0' bus='0' port='3'/>",
        "<address type='ccid' controller='0' slot='0'/>",
        "<address type='usb' bus='0' port='1.2.3.4'/>",
        "<address type='dimm' slot='0' base='0x100000000'/>",
        "<address type='isa' iobase='0x505' irq='4'/>",
        "<address type='ccw' cssid='0xfe' ssid='0' devno='0x0001'/>",
        "<address type='spapr-vio' reg='0x2000'/>",
        "<address type='virtio-mmio'/>",
        "<address type='unassigned'/>",
    ]
    bad = [
        "<address type='pci' slot='09'/>",
        "<address type='drive' unit='0x1'/>",
        "<address type='usb' port='1.2.3.4.5'/>",
        "<address type='pci' multifunction='yes'/>",
        "<address type='nope'/>",
        "<address/>",
    ]
    assert [schema.is_valid(etree.fromstring(x)) for x in good] == [True] * len(good)
    assert [schema.is_valid(etree.fromstring(x)) for x in bad] == [False] * len(bad)


# ---------------------------------------------------------------------------- command line


def test_exit_codes_strict_and_many_files(tmp_path: Path) -> None:
    clean, warned, broken = domain(nic(3)), domain(nic(5, 1)), domain(nic(3) + nic(3))
    assert run(tmp_path, clean) == 0
    assert run(tmp_path, warned) == 0
    assert run(tmp_path, warned, "--strict") == 1
    assert run(tmp_path, broken) == 1
    (tmp_path / "a.xml").write_text(clean)
    (tmp_path / "b.xml").write_text("not xml")
    (tmp_path / "c.xml").write_text(broken)
    paths = [str(tmp_path / n) for n in ("a.xml", "c.xml", "b.xml")]
    assert main(["check", "--libvirt", "9.0", *paths]) == 2
    assert main(["check", "--libvirt", "9.0", *paths[:2]]) == 1


def test_text_output_is_one_problem_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, domain(nic(3) + nic(3) + nic(9, 2))) == 1
    lines = capsys.readouterr().out.splitlines()
    pattern = re.compile(r"^\S+:\d+: (error|warning): [^:]+: .+$")
    assert len(lines) == 2 and all(pattern.match(line) for line in lines)
    assert ": error: interface user #2: " in lines[0] and ": warning: " in lines[1]


def test_json_report_follows_its_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.xml").write_text(domain(nic(3) + nic(3) + nic(9, 2)))
    (tmp_path / "b.xml").write_bytes(b"\x00\x01binary")
    code = main(
        ["check", "--libvirt", "9.0", "--json", str(tmp_path / "a.xml"), str(tmp_path / "b.xml")]
    )
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert code == 2 and report["exit_status"] == 2
    first, second = report["files"]
    assert (first["errors"], first["warnings"], first["exit_status"]) == (1, 1, 1)
    assert first["problems"][0]["related"] == [{"line": 6, "device": "interface user #1"}]
    assert second["unusable"] is True and second["problems"][0]["code"] == "unusable"


def test_schema_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = domain(nic(3))
    if not check_schemas.LIBVIRT_RNG.is_file():
        assert run(tmp_path, text, "--schema") == 0
        assert "not installed" in capsys.readouterr().err
        return
    assert run(tmp_path, text, "--schema") == 0
    assert "valid against" in capsys.readouterr().err
    invalid = text.replace("<name>t</name>", "<name>t</name><bogus/>")
    assert run(tmp_path, invalid, "--schema") == 1
    assert ": error: " in capsys.readouterr().out


def test_schema_option_without_libvirts_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_schemas, "LIBVIRT_RNG", tmp_path / "absent.rng")
    assert run(tmp_path, domain(nic(3)), "--schema") == 0
    assert "is not installed: schema check skipped" in capsys.readouterr().err


def test_check_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "d.xml"
    data = domain("    <disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>\n")
    path.write_text(data)
    assert main(["check", "--libvirt", "9.0", str(path)]) == 0
    assert path.read_text() == data


# ---------------------------------------------------------------------------- address type fit

# (devices, machine, libvirt 9.0's message): each message recorded from the live daemon
# (../shared/oracle/libvirt-assign); test_fit_messages_are_libvirts re-asks it when it runs.
_HOSTDEV_SCSI = (
    "<source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>"
)
_PCI_ADDR = "<address type='pci' domain='0' bus='0' slot='5' function='0'/>"
FIT_CASES = [
    (
        "<interface type='user'><model type='e1000'/><address type='unassigned'/></interface>",
        "address of type 'unassigned' is supported only for hostdevs",
    ),
    (
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' "
        "bus='6' slot='7' function='0'/></source>"
        "<address type='drive' controller='0' bus='0' target='0' unit='0'/></hostdev>",
        "PCI host devices must use 'pci' or 'unassigned' address type",
    ),
    (
        f"<hostdev mode='subsystem' type='scsi'>{_HOSTDEV_SCSI}{_PCI_ADDR}</hostdev>",
        "SCSI host device must use 'drive' address type",
    ),
    (
        "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
        f"<product id='0xbeef'/></source>{_PCI_ADDR}</hostdev>",
        "USB host device must use 'usb' address type",
    ),
    (
        f"<serial type='pty'><target type='isa-serial' port='0'/>{_PCI_ADDR}</serial>",
        "Target type 'isa-serial' requires address type 'isa'",
    ),
    (
        f"<serial type='pty'><target type='system-serial'/>{_PCI_ADDR}</serial>",
        "Target type 'system-serial' cannot have an associated address",
    ),
    (
        "<watchdog model='i6300esb'><address type='isa' iobase='0x505'/></watchdog>",
        "i6300esb model of watchdog can go only on PCI bus",
    ),
    (
        "<watchdog model='ib700'><address type='isa' iobase='0x505'/></watchdog>",
        "ib700 model of watchdog does not support configuring the address",
    ),
    (
        f"<video><model type='ramfb'/>{_PCI_ADDR}</video>",
        "address not supported for video type ramfb",
    ),
    (
        f"<input type='tablet' bus='usb'>{_PCI_ADDR}</input>",
        "Invalid address for a USB device",
    ),
    (
        "<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' "
        "wwpn='naa.5123456789abcde0'/>"
        "<address type='drive' controller='0' bus='0' target='0' unit='0'/></hostdev>",
        "SCSI_host host device must use 'pci' or 'ccw' address type",
    ),
    (
        "<serial type='pty'><target type='pci-serial'/>"
        "<address type='usb' bus='0' port='1'/></serial>",
        "Target type 'pci-serial' requires address type 'pci'",
    ),
    (
        f"<serial type='pty'><target type='usb-serial'/>{_PCI_ADDR}</serial>",
        "usb-serial requires address of usb type",
    ),
]


@pytest.mark.parametrize(("devices", "message"), FIT_CASES)
def test_address_type_must_fit_the_device(devices: str, message: str) -> None:
    assert [p.message for p in errors(domain(f"    {devices}\n"))] == [message]


@pytest.mark.oracle
@pytest.mark.parametrize(("devices", "message"), FIT_CASES)
def test_fit_messages_are_libvirts(
    devices: str, message: str, oracle: Path, tmp_path: Path
) -> None:
    import subprocess

    path = tmp_path / "d.xml"
    path.write_text(domain(f"    {devices}\n"))
    proc = subprocess.run(
        [str(oracle / "libvirt-assign"), str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


# ------------------------------------------------------------------ hand-editing slips (warnings)


def test_a_misspelt_child_element_is_a_warning(tmp_path: Path) -> None:
    text = domain(
        "    <interface type='user'><model type='e1000'/>"
        "<adress type='pci' domain='0' bus='0' slot='5' function='0'/></interface>\n"
        "    <disk type='file' device='disk'><source file='/d.img'/><taget dev='vda'/></disk>\n"
        "    <vidoe><model type='vga'/></vidoe>\n"
    )
    found = [p for p in check(text) if p.code == "misspelt-element"]
    assert [(p.line, p.device, p.is_error) for p in found] == [
        (6, "interface user #1", False),
        (7, "disk", False),
        (8, "devices", False),
    ]
    assert found[0].message == (
        "unknown element <adress>, did you mean <address>? libvirt ignores it: the device gets "
        "an address of libvirt's choosing"
    )
    assert "<video>? libvirt ignores it: no such device" in found[2].message
    misspelt = domain(nic(3).replace("<address", "<adress"))
    assert run(tmp_path, misspelt) == 0
    assert run(tmp_path, misspelt, "--strict") == 1


def test_known_and_foreign_elements_are_not_misspelt() -> None:
    text = domain(
        "    <disk type='file' device='disk'><source file='/d.img'/><target dev='vda'/>"
        "<serial>x</serial><boot order='1'/><x:adress xmlns:x='urn:x'/></disk>\n"
        "    <x:vidoe xmlns:x='urn:x'/>\n"
    )
    assert [p for p in check(text) if p.code == "misspelt-element"] == []


def test_a_bus_far_above_the_controllers_is_a_warning(tmp_path: Path) -> None:
    far = domain(nic(0, bus=0x42).replace("e1000", "virtio"), "q35")
    found = check(far)
    assert [(p.code, p.line, p.is_error) for p in found] == [("far-bus", 6, False)]
    assert found[0].message == (
        "bus 0x42 is far above the last PCI bus the controllers declare (0x00): to reach it "
        "libvirt adds 66 pcie-root-ports, 63 of them left empty"
    )
    assert run(tmp_path, far) == 0
    near = domain(nic(0, bus=2).replace("e1000", "virtio"), "q35")
    assert check(near) == []  # the two added ports hold the NIC and a default device


# ---------------------------------------------------------------------------- disk targets


def vdisk(dev: str, bus: str = "virtio", source: str = "") -> str:
    src = f"<source file='/img/{source or dev}.img'/>"
    return f"    <disk type='file' device='disk'>{src}<target dev='{dev}' bus='{bus}'/></disk>\n"


def test_disk_target_used_twice_names_both_disks() -> None:
    # lines: 6 vda, 7 vdb, 8 vda again
    found = errors(domain(vdisk("vda") + vdisk("vdb") + vdisk("vda", source="other")))
    assert [(p.code, p.line) for p in found] == [("disk-target-collision", 8)]
    assert found[0].message == (
        "target 'vda' duplicated for disk sources '/img/vda.img' and '/img/other.img'"
    )
    assert [(r.line, r.device) for r in found[0].related] == [(6, "disk vda")]


def test_disk_target_used_three_times_is_reported_for_each_repeat() -> None:
    found = errors(domain(vdisk("vda") + vdisk("vda", "sata") + vdisk("vda")))
    assert [p.line for p in found] == [7, 8]


def test_every_partition_target_is_reported() -> None:
    found = errors(domain(vdisk("vda") + vdisk("vdb1") + vdisk("vdc12")))
    assert [(p.line, p.message) for p in found] == [
        (7, "invalid disk target 'vdb1', partitions can't appear in disk targets"),
        (8, "invalid disk target 'vdc12', partitions can't appear in disk targets"),
    ]


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        (
            vdisk("vda") + vdisk("vdb") + vdisk("vda", source="other"),
            "target 'vda' duplicated for disk sources '/img/vda.img' and '/img/other.img'",
        ),
        (vdisk("vdb1"), "invalid disk target 'vdb1', partitions can't appear in disk targets"),
    ],
)
@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_assign_refuses_disk_targets_libvirt_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], devices: str, message: str, version: str
) -> None:
    path = tmp_path / "d.xml"
    path.write_text(domain(devices))
    assert main(["assign", "--libvirt", version, str(path)]) == 1
    assert message in capsys.readouterr().err
