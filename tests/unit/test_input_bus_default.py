"""An ``<input>`` without ``bus`` gets the bus libvirt's parser gives it, and that bus's address.

The parser's default depends on the type and the architecture: mouse and keyboard are PS/2 on
x86, everything is virtio on s390, passthrough is virtio, evdev has no bus, the rest is USB. The
expected addresses are the live libvirt 9.0's answers (``libvirt-assign``) to these domains; the
oracle's ``compare-addresses`` pairs inputs by an x86 default bus, so these cases live here
rather than as fixtures.
"""

from __future__ import annotations

import pytest
from lxml import etree

from virtaddr import api

_EMULATOR = {"s390x": "s390x", "ppc64": "ppc64", "aarch64": "aarch64", "x86_64": "x86_64"}


def _domain(arch: str, machine: str, devices: str) -> str:
    return (
        f"<domain type='qemu'><name>t</name><memory unit='KiB'>1048576</memory>"
        f"<os><type arch='{arch}' machine='{machine}'>hvm</type></os><devices>"
        f"<emulator>/usr/bin/qemu-system-{_EMULATOR[arch]}</emulator>{devices}</devices></domain>"
    )


def _inputs(xml: str) -> list[tuple[str | None, dict[str, str]]]:
    root = etree.fromstring(xml)
    found = []
    for i in root.iter("input"):
        address = i.find("address")
        found.append((i.get("type"), dict(address.attrib) if address is not None else {}))
    return found


CASES = {
    # s390x: every input is virtio, hence virtio-ccw
    "s390x-virtio-ccw": (
        _domain(
            "s390x",
            "s390-ccw-virtio",
            "<input type='mouse'/><input type='keyboard'/><input type='tablet'/>",
        ),
        [
            ("mouse", {"type": "ccw", "cssid": "0xfe", "ssid": "0x0", "devno": "0x0000"}),
            ("keyboard", {"type": "ccw", "cssid": "0xfe", "ssid": "0x0", "devno": "0x0001"}),
            ("tablet", {"type": "ccw", "cssid": "0xfe", "ssid": "0x0", "devno": "0x0002"}),
        ],
    ),
    # pseries: a keyboard and a mouse without bus are USB: libvirt adds no second pair
    "ppc64-usb-no-extra-inputs": (
        _domain(
            "ppc64",
            "pseries",
            "<graphics type='vnc'/><input type='keyboard'/><input type='mouse'/>",
        ),
        [
            ("keyboard", {"type": "usb", "bus": "0", "port": "1"}),
            ("mouse", {"type": "usb", "bus": "0", "port": "2"}),
        ],
    ),
    # x86: passthrough is virtio (PCI), evdev has no bus, a tablet is USB, mouse/keyboard PS/2
    "x86-passthrough-evdev-tablet": (
        _domain(
            "x86_64",
            "pc",
            "<input type='passthrough'><source evdev='/dev/input/event1'/>"
            "</input><input type='evdev'><source dev='/dev/input/event2'/></input>"
            "<input type='tablet'><address type='usb' bus='0' port='2'/></input>"
            "<input type='tablet'/>",
        ),
        [
            (
                "passthrough",
                {
                    "type": "pci",
                    "domain": "0x0000",
                    "bus": "0x00",
                    "slot": "0x03",
                    "function": "0x0",
                },
            ),
            ("evdev", {}),
            ("tablet", {"type": "usb", "bus": "0", "port": "2"}),
            ("tablet", {"type": "usb", "bus": "0", "port": "1"}),
        ],
    ),
    # aarch64 virt with a virtio-mmio device: the passthrough input is virtio-mmio too
    "aarch64-passthrough-virtio-mmio": (
        _domain(
            "aarch64",
            "virt",
            "<input type='passthrough'><source evdev='/dev/input/event1'/>"
            "</input><interface type='user'><model type='virtio'/>"
            "<address type='virtio-mmio'/></interface>",
        ),
        [("passthrough", {"type": "virtio-mmio"})],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_input_without_bus_gets_libvirts_address(name: str) -> None:
    text, expected = CASES[name]
    result = api.assign_xml(text, libvirt="9.0")
    assert result.ok, result.problems
    assert isinstance(result.xml, str)
    assert _inputs(result.xml) == expected


def test_usb_input_without_bus_refused_when_usb_is_disabled() -> None:
    text = _domain("aarch64", "virt", "<controller type='usb' model='none'/><input type='tablet'/>")
    result = api.assign_xml(text, libvirt="9.0")
    assert not result.ok
    assert "Can't add USB input device. USB bus is disabled" in str(result.problems[0])
