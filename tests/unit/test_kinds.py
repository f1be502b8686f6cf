"""The address kinds: declarations, text conversions and the wrappers over the allocator."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from hypothesis import given, strategies as st

import virtaddr.kinds
from virtaddr.alloc import AddressKind, AddressSpace, Box, Field
from virtaddr.errors import Collision, Exhausted, InvalidAddress
from virtaddr.kinds import ccid, dimm, disk_names, drive, ip, pci, usb, virtio_serial
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import AddressType

KIND_MODULES = sorted(m.name for m in pkgutil.iter_modules(virtaddr.kinds.__path__))
SUPPORT_MODULES = {"attrs", "address_types"}  # the declarations' vocabulary and their table


@pytest.mark.parametrize("name", KIND_MODULES)
def test_every_kind_module_declares_a_usable_kind(name: str) -> None:
    module = importlib.import_module(f"virtaddr.kinds.{name}")
    kinds = [v for v in vars(module).values() if isinstance(v, AddressKind)]
    if name in SUPPORT_MODULES:
        return
    address = getattr(module, "ADDRESS", None)
    if address is not None:  # a kind libvirt writes in <address>: declared once, with its kind
        assert isinstance(address, AddressType)
        assert address.kind is (kinds[0] if kinds else None)
        if address.kind is not None:  # the kind's fields it writes, in the kind's order
            written = [a.name for a in address.attrs if a.name in address.kind.names]
            assert written and written == [n for n in address.kind.names if n in written]
    if not kinds:  # only kinds with nothing to allocate (virtio-mmio, isa) may declare none
        assert address is not None, f"{name} declares no AddressKind"
    for kind in kinds:
        space = AddressSpace(kind)
        space.add_pool(Box((f.lo, min(f.hi, f.lo + 3)) for f in kind.fields))
        a = space.reserve_any("x")
        assert a == kind.bounds.lo
        assert kind.describe(a)
        space._check()


def test_field_names_and_bounds() -> None:
    assert pci.KIND.names == ("domain", "bus", "slot", "function")
    assert pci.KIND.bounds == Box([(0, 0xFFFF), (0, 255), (0, 31), (0, 7)])
    assert drive.KIND.names == ("controller", "bus", "target", "unit")
    assert virtio_serial.KIND.names == ("controller", "bus", "port")
    assert usb.KIND.names == ("bus", "p1", "p2", "p3", "p4")
    assert ccid.KIND.names == ("controller", "slot")
    assert dimm.KIND.names == ("slot",)
    assert ip.IPV4.bounds.size == 2**32 and ip.IPV6.bounds.size == 2**128


def test_kind_address_and_request() -> None:
    assert pci.KIND.address(domain=0, bus=1, slot=2, function=3) == (0, 1, 2, 3)
    assert pci.KIND.address(0, 1, 2, 3) == (0, 1, 2, 3)
    assert pci.KIND.request(bus=1) == pci.KIND.request(domain=None, bus=1)
    with pytest.raises(InvalidAddress, match="slot=32"):
        pci.KIND.address(0, 0, 32, 0)
    with pytest.raises(InvalidAddress, match="missing"):
        pci.KIND.address(domain=0, bus=1)
    with pytest.raises(InvalidAddress, match="unknown"):
        pci.KIND.request(port=1)
    with pytest.raises(InvalidAddress):
        AddressKind("bad", (Field("a", 0, 1), Field("a", 0, 1)))
    with pytest.raises(InvalidAddress):
        Field("a", 2, 1)


def test_pci_text_and_attributes() -> None:
    assert pci.format_address((0, 1, 3, 0)) == "0000:01:03.0"
    assert pci.parse_address("0000:01:1f.7") == (0, 1, 31, 7)
    assert pci.format_attrs((0, 0, 3, 0)) == {
        "domain": "0x0000",
        "bus": "0x00",
        "slot": "0x03",
        "function": "0x0",
    }
    for text in ["0000:01:20.0", "1:2:3", "0000:01:03.8", "zz"]:
        with pytest.raises(InvalidAddress):
            pci.parse_address(text)


def test_pci_describe_box() -> None:
    assert pci.KIND.describe_box(Box(pci.slot_box(0, 1, 3))) == "0000:01:03.0–0000:01:03.7"
    assert pci.KIND.describe_box(Box([(0, 0), (0, 255), (3, 3), (0, 0)])) == (
        "domain=0x0000 bus=* slot=0x03 function=0x0"
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("1", (1, 0, 0, 0)),
        ("1.2", (1, 2, 0, 0)),
        ("3.1.4.1", (3, 1, 4, 1)),
        ("255", (255, 0, 0, 0)),
    ],
)
def test_usb_port_paths(text: str, path: tuple[int, int, int, int]) -> None:
    assert usb.parse_port(text) == path
    assert usb.format_port(path) == text


@pytest.mark.parametrize("text", ["", "0", "1.0", "1..2", "1.2.3.4.5", "256", "a", "-1", "1.2."])
def test_usb_bad_port_paths(text: str) -> None:
    with pytest.raises(InvalidAddress):
        usb.parse_port(text)


def test_usb_bad_tuples_and_hubs() -> None:
    for path in [(1, 0, 2, 0), (0, 0, 0, 0), (1, 2, 3)]:
        with pytest.raises(InvalidAddress):
            usb.format_port(path)
    with pytest.raises(InvalidAddress):
        usb.hub_box(0, (1, 2, 3, 4), 8)  # a hub at depth four has no room for ports
    with pytest.raises(InvalidAddress):
        usb.hub_box(0, None, 0)


def test_usb_hub_pools_and_order() -> None:
    space = AddressSpace(usb.KIND)
    space.add_pool(usb.hub_box(0, None, 2), name="root")
    space.reserve((0, *usb.parse_port("1")), owner="hub")
    space.add_pool(usb.hub_box(0, usb.parse_port("1"), 4), name="hub on 1")
    got = [usb.format_port(space.reserve_any(f"dev{i}")[1:]) for i in range(5)]
    assert got == ["1.1", "1.2", "1.3", "1.4", "2"]
    assert usb.KIND.describe((0, 1, 2, 0, 0)) == "bus 0 port 1.2"


def test_ip_text() -> None:
    assert ip.parse_ipv4("10.0.0.1") == (10, 0, 0, 1)
    assert ip.format_ipv4((10, 0, 0, 1)) == "10.0.0.1"
    assert ip.parse_ipv6("::1") == (1,) and ip.format_ipv6((1,)) == "::1"
    assert ip.parse("fe80::1") == (0xFE80 << 112 | 1,)
    for bad in ["10.0.0", "10.0.0.256", "::g", "1.2.3.4/8"]:
        with pytest.raises(InvalidAddress):
            ip.parse(bad)


def test_cidr_and_ranges() -> None:
    assert ip.cidr_box("10.0.16.0/20") == Box([10, 0, (16, 31), (0, 255)])
    assert ip.cidr_box("0.0.0.0/0") == ip.IPV4.bounds
    assert ip.cidr_box("10.1.2.3/32") == Box([10, 1, 2, 3])
    assert ip.cidr_box("2001:db8::/32").size == 2**96
    with pytest.raises(InvalidAddress, match="host bits"):
        ip.cidr_box("10.0.0.1/24")
    boxes = ip.range_boxes("10.0.0.250", "10.0.2.3")
    assert [ip.IPV4.describe_box(b) for b in boxes] == [
        "10.0.0.250–10.0.0.255",
        "10.0.1.0–10.0.1.255",
        "10.0.2.0–10.0.2.3",
    ]
    with pytest.raises(InvalidAddress, match="3 boxes"):
        ip.range_box("10.0.0.250", "10.0.2.3")
    with pytest.raises(InvalidAddress):
        ip.range_boxes("10.0.0.2", "::1")
    with pytest.raises(InvalidAddress):
        ip.range_boxes("10.0.0.2", "10.0.0.1")


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_any_cidr_is_one_box_of_the_right_size(value: int, prefix: int) -> None:
    net = value >> (32 - prefix) << (32 - prefix) if prefix else 0
    text = f"{ip.format_ipv4(net.to_bytes(4, 'big'))}/{prefix}"
    box = ip.cidr_box(text)
    assert box.size == 2 ** (32 - prefix)
    assert box.is_run_within(ip.IPV4.bounds)


@pytest.mark.parametrize(
    ("name", "prefix", "index"),
    [
        ("sda", "sd", 0),
        ("sdz", "sd", 25),
        ("sdaa", "sd", 26),
        ("sdaz", "sd", 51),
        ("sdba", "sd", 52),
        ("sdzz", "sd", 701),
        ("sdaaa", "sd", 702),
        ("hdc", "hd", 2),
        ("vdb", "vd", 1),
        ("fda", "fd", 0),
        ("xvdd", "xvd", 3),
        ("ubdb", "ubd", 1),
    ],
)
def test_disk_names(name: str, prefix: str, index: int) -> None:
    assert disk_names.parse_disk_name(name) == (prefix, index)
    assert disk_names.disk_index(name) == index
    assert disk_names.disk_name(prefix, index) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("sda1", "partition 1"),
        ("vdb12", "partition 12"),
        ("sd", "no lowercase letters"),
        ("sdA", "no lowercase letters"),
        ("sd1", "no lowercase letters"),
        ("nvme0n1", "does not start"),
        ("", "does not start"),
        ("sda-b", "unexpected"),
        ("sdab1c", "unexpected"),
        ("sd" + "z" * 8, "too long"),
    ],
)
def test_bad_disk_names(name: str, why: str) -> None:
    with pytest.raises(InvalidAddress, match=why):
        disk_names.parse_disk_name(name)
    assert disk_names.disk_index(name) is None


@given(st.integers(0, disk_names.MAX_INDEX), st.sampled_from(disk_names.PREFIXES))
def test_disk_name_round_trip(index: int, prefix: str) -> None:
    assert disk_names.parse_disk_name(disk_names.disk_name(prefix, index)) == (prefix, index)


def test_disk_name_bad_arguments() -> None:
    with pytest.raises(InvalidAddress):
        disk_names.disk_name("nvme", 0)
    with pytest.raises(InvalidAddress):
        disk_names.disk_name("sd", -1)
    with pytest.raises(InvalidAddress):
        disk_names.disk_name("sd", disk_names.MAX_INDEX + 1)


def test_disk_name_space() -> None:
    space = AddressSpace(disk_names.KIND)
    space.add_pool([(0, 3)], name="scsi bus")
    assert disk_names.reserve_name(space, "sdb", "cdrom") == 1
    with pytest.raises(Collision, match="cdrom"):
        disk_names.reserve_name(space, "sdb", "disk")
    assert [disk_names.next_name(space, "sd", n) for n in "xyz"] == ["sda", "sdc", "sdd"]
    with pytest.raises(Exhausted):
        disk_names.next_name(space, "sd", "more")


def test_address_attributes_are_the_kinds_fields() -> None:
    # Each kind is declared once: an <address> attribute naming a field of the type's allocator
    # kind reads and writes it with that field's bound and hex width.
    for name, spec in ADDRESS_TYPES.items():
        if spec.kind is None:
            continue
        fields = {f.name: f for f in spec.kind.fields}
        named = [a for a in spec.attrs if a.name in fields]
        # in the kind's order; a USB port path is the fields p1..p4 in one attribute
        assert [a.name for a in named] == [n for n in spec.kind.names if n in spec.names], name
        for a in named:
            f = fields[a.name]
            assert (a.hi, a.hex_width) == (f.hi, f.hex_width), (name, a.name)
