#!/usr/bin/env python3
"""Record golden fixtures from the live libvirt: ``fixtures/NAME.in.xml`` + libvirt's answer.

    .venv/bin/python tests/oracle/record_fixtures.py --list           # the templates
    .venv/bin/python tests/oracle/record_fixtures.py                  # record every template
    .venv/bin/python tests/oracle/record_fixtures.py --only q35-empty pc-empty
    .venv/bin/python tests/oracle/record_fixtures.py --import NAME=FILE   # e.g. a counterexample
    .venv/bin/python tests/oracle/record_fixtures.py --libvirt 11.3 ...   # from libvirt 11.3
    ... --force                                                       # overwrite existing ones

``--libvirt VERSION`` (default 9.0) picks the daemon that answers (``libvirt-assign --libvirt
VERSION``) and the folder the answers go to: ``fixtures/`` for 9.0, ``fixtures/libvirt-VERSION/``
for the others (``fixtures/README.md``), so every answer stays with the version that gave it.

Each template below builds one domain (readable Python, see ``tests/domainxml.py``). The script
writes ``NAME.in.xml``, asks libvirt through ``$ORACLE/libvirt-assign`` (one call for all), and
writes libvirt's XML as ``NAME.out.xml``, or libvirt's message as ``NAME.err`` when it rejects the
domain. It never overwrites silently: when any selected fixture already has a file it refuses,
listing them, unless ``--force`` (which also removes a stale ``.out.xml``/``.err`` of the other
kind). ``tests/test_fixtures.py`` then checks our assign against every fixture, offline.

A counterexample of ``tests/oracle/test_differential.py`` is saved as a ``.in.xml`` file (under a
``libvirt-VERSION`` folder); turn it into a permanent case of that version with
``--libvirt VERSION --import diff-SHORTNAME=/path/to/it.in.xml``. Nothing here ever writes an
answer of ours: every ``.out.xml``/``.err`` is what the daemon said.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: domainxml, parity

from domainxml import (
    channel,
    controller,
    disk,
    domain,
    drive,
    filesystem,
    hostdev,
    interface,
    pci,
    simple,
    usb,
    usb_hostdev,
    usb_ich9_set,
)
from parity import ORACLE_VERSIONS, fixtures_dir, oracle_dir

TEMPLATES: dict[str, Callable[[str], str]] = {}


def template(func: Callable[[str], str]) -> Callable[[str], str]:
    """Register a template; the fixture name is the function name with '_' -> '-'."""
    TEMPLATES[func.__name__.replace("_", "-")] = func
    return func


def drive_name(prefix: str, index: int) -> str:
    """libvirt's disk naming: 0 -> a, 25 -> z, 26 -> aa, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def virtio_disks(count: int, start: int = 0) -> Iterator[str]:
    for i in range(start, start + count):
        yield disk(drive_name("vd", i), "virtio")


VNC = simple("graphics", " type='vnc'")
BALLOON_NONE = simple("memballoon", " model='none'")


# ---------------------------------------------------------------------------- q35


@template
def q35_empty(n: str) -> str:
    return domain(n, "q35", [])


@template
def q35_typical(n: str) -> str:
    """§13.2: a conventional-PCI NIC and lsilogic need a pcie-to-pci-bridge."""
    return domain(n, "q35", [VNC, interface(), disk("vda", "virtio"), disk("sdc", device="cdrom")])


@template
def q35_virtio_disks_7(n: str) -> str:
    return domain(n, "q35", virtio_disks(7))


@template
def q35_virtio_disks_8(n: str) -> str:
    return domain(n, "q35", virtio_disks(8))


@template
def q35_virtio_disks_30(n: str) -> str:
    return domain(n, "q35", virtio_disks(30))


@template
def q35_virtio_disks_60(n: str) -> str:
    """§13.4: root-port packing over slots 1..8 and the spare port."""
    return domain(n, "q35", virtio_disks(60))


@template
def q35_e1000_explicit_bus1(n: str) -> str:
    """§13.9: explicit bus number rewritten."""
    return domain(n, "q35", [interface("e1000", pci(1, bus=1))])


@template
def q35_virtio_explicit_bus3(n: str) -> str:
    return domain(n, "q35", [disk("vda", "virtio", pci(0, bus=3))])


@template
def q35_explicit_root_slots(n: str) -> str:
    """virtio devices written on pcie-root slots; the rest placed around them."""
    return domain(
        n,
        "q35",
        [
            disk("vda", "virtio", pci(2)),
            disk("vdb", "virtio", pci(3)),
            interface("virtio", pci(4)),
            disk("vdc", "virtio"),
            interface("virtio"),
            simple(
                "rng",
                " model='virtio'",
                "<backend model='random'>/dev/urandom</backend>",
                pci(0x10),
            ),
        ],
    )


@template
def q35_root_ports_explicit(n: str) -> str:
    """Two written root ports with addresses; libvirt still adds a spare."""
    return domain(
        n,
        "q35",
        [
            controller("pci", "pcie-root", 0),
            controller("pci", "pcie-root-port", 1, pci(3, multifunction="on")),
            controller("pci", "pcie-root-port", 2, pci(3, function=1)),
            disk("vda", "virtio"),
            disk("vdb", "virtio"),
        ],
    )


@template
def q35_controllers_first(n: str) -> str:
    """§13.12: two unindexed root ports and two unindexed scsi controllers."""
    return domain(
        n,
        "q35",
        [
            controller("pci", "pcie-root", 0),
            controller("pci", "pcie-root-port"),
            controller("pci", "pcie-root-port"),
            controller("scsi"),
            controller("scsi"),
        ],
    )


@template
def q35_reject_unindexed_bridge_first(n: str) -> str:
    """An unindexed PCI controller written first gets index 0, which must be pcie-root."""
    return domain(n, "q35", [controller("pci", "pcie-to-pci-bridge"), interface("e1000")])


@template
def q35_reject_pcie_to_pci_bridge_unplaced(n: str) -> str:
    """libvirt does not add a root port for a written pcie-to-pci-bridge (connect flags 2000)."""
    return domain(
        n, "q35", [controller("pci", "pcie-root", 0), controller("pci", "pcie-to-pci-bridge")]
    )


@template
def q35_pcie_to_pci_bridge_explicit(n: str) -> str:
    return domain(
        n,
        "q35",
        [
            controller("pci", "pcie-root", 0),
            controller("pci", "pcie-root-port", 1, pci(2)),
            controller("pci", "pcie-to-pci-bridge", 2, pci(0, bus=1)),
            interface("rtl8139"),
            interface("e1000"),
            simple("sound", " model='ac97'"),
        ],
    )


@template
def q35_dmi_to_pci_bridge(n: str) -> str:
    """dmi-to-pci-bridge without address -> 00:1e.0, then a pci-bridge behind it."""
    return domain(
        n,
        "q35",
        [
            controller("pci", "dmi-to-pci-bridge", 1),
            controller("pci", "pci-bridge", 2),
            interface("e1000"),
        ],
    )


@template
def q35_ich9_usb_set(n: str) -> str:
    return domain(n, "q35", usb_ich9_set(0))


@template
def q35_two_ich9_sets(n: str) -> str:
    """§13.10: two unindexed sets -> 00:1d and 00:1a."""
    return domain(n, "q35", [*usb_ich9_set(None), *usb_ich9_set(None)])


@template
def q35_piix3_usb_default_model(n: str) -> str:
    """A usb controller without model is piix3-uhci on q35 too: behind a pcie-to-pci-bridge."""
    return domain(n, "q35", [controller("usb", None, 0)])


@template
def q35_video_qxl(n: str) -> str:
    """Primary video at 00:01.0 even though qxl is conventional PCI."""
    return domain(n, "q35", [VNC, simple("video", "", "<model type='qxl'/>")])


@template
def q35_video_vga_slot1_taken(n: str) -> str:
    """Slot 1 taken by an explicit device: the vga lands behind a pcie-to-pci-bridge."""
    return domain(
        n,
        "q35",
        [disk("vda", "virtio", pci(1)), simple("video", "", "<model type='vga'/>")],
    )


@template
def q35_video_virtio_and_sound(n: str) -> str:
    return domain(
        n,
        "q35",
        [
            VNC,
            simple("video", "", "<model type='virtio'/>"),
            simple("sound", " model='ich9'"),
            simple("sound", " model='ich9'"),
            simple("sound", " model='ich6'"),
        ],
    )


@template
def q35_sata_disks_8(n: str) -> str:
    """§13.5: sata units 0-5 on controller 0, then controller 1 behind a bridge."""
    return domain(n, "q35", [disk(drive_name("sd", i), "sata") for i in range(8)])


@template
def q35_virtio_scsi_8_disks(n: str) -> str:
    """§13.6: virtio-scsi does not change the 7-units rule."""
    disks = [disk(drive_name("sd", i), "scsi") for i in range(8)]
    return domain(n, "q35", [controller("scsi", "virtio-scsi"), *disks])


@template
def q35_hostdevs(n: str) -> str:
    """Host devices absent on this host count as PCIe on q35."""
    return domain(
        n, "q35", [hostdev(0xF1), hostdev(0xF2), hostdev(0xF3, address=pci(5)), interface()]
    )


@template
def q35_mixed_24(n: str) -> str:
    """A busy guest: many kinds, a few explicit addresses, growing the root ports."""
    return domain(
        n,
        "q35",
        [
            VNC,
            simple("video", "", "<model type='cirrus'/>"),
            *virtio_disks(8),
            disk("sda", "sata"),
            disk("sdb", "scsi"),
            interface("virtio"),
            interface("e1000e", pci(6)),
            interface("virtio-transitional"),
            controller("usb", "qemu-xhci", 0),
            controller("virtio-serial", None, 0, pci(7)),
            channel("org.example.0"),
            simple("input", " type='tablet' bus='virtio'"),
            simple("input", " type='tablet' bus='usb'"),
            simple("rng", " model='virtio'", "<backend model='random'>/dev/urandom</backend>"),
            simple("watchdog", " model='i6300esb' action='reset'"),
            filesystem("share0"),
            hostdev(0xF4),
        ],
    )


@template
def q35_no_balloon_many_nics(n: str) -> str:
    return domain(n, "q35", [BALLOON_NONE, *(interface("virtio") for _ in range(12))])


@template
def q35_reject_slot_1f(n: str) -> str:
    """00:1f.0 is the LPC bridge: a device written there is a double use."""
    return domain(n, "q35", [interface("virtio", pci(0x1F))])


@template
def q35_reject_ide(n: str) -> str:
    return domain(n, "q35", [disk("hda", "ide")])


# ---------------------------------------------------------------------------- pc


@template
def pc_empty(n: str) -> str:
    return domain(n, "pc", [])


@template
def pc_no_machine(n: str) -> str:
    """No machine attribute: the default machine (pc-i440fx)."""
    return domain(n, None, [VNC, interface("virtio"), disk("vda", "virtio")])


@template
def pc_typical(n: str) -> str:
    return domain(n, "pc", [VNC, interface(), disk("vda", "virtio"), disk("sdc", device="cdrom")])


@template
def pc_virtio_disks_28(n: str) -> str:
    """§13.3: 28 disks fit on bus 0 (slot 0x1f stays free)."""
    return domain(n, "pc", virtio_disks(28))


@template
def pc_virtio_disks_29(n: str) -> str:
    """§13.3: 29 disks need a pci-bridge at 00:02.0."""
    return domain(n, "pc", virtio_disks(29))


@template
def pc_virtio_disks_60(n: str) -> str:
    return domain(n, "pc", virtio_disks(60))


@template
def pc_pci_bridges_explicit(n: str) -> str:
    return domain(
        n,
        "pc",
        [
            controller("pci", "pci-root", 0),
            controller("pci", "pci-bridge", 1, pci(5)),
            controller("pci", "pci-bridge", 2, pci(1, bus=1)),
            interface("e1000", pci(3, bus=2)),
            *virtio_disks(3),
        ],
    )


@template
def pc_ich9_set_24_disks(n: str) -> str:
    """§13.10: no bridge yet."""
    return domain(n, "pc", [*usb_ich9_set(0), *virtio_disks(24)])


@template
def pc_ich9_set_25_disks(n: str) -> str:
    """§13.10: the pass-1 slot inflation adds a bridge."""
    return domain(n, "pc", [*usb_ich9_set(0), *virtio_disks(25)])


@template
def pc_usb_hub(n: str) -> str:
    """§13.8: four USB devices on a two-port piix3 get a hub."""
    return domain(
        n,
        "pc",
        [
            simple("input", " type='tablet' bus='usb'"),
            simple("input", " type='keyboard' bus='usb'"),
            disk("sda", "usb"),
            simple("redirdev", " bus='usb' type='spicevmc'"),
            simple("graphics", " type='spice'"),
        ],
    )


@template
def pc_usb_many_tablets(n: str) -> str:
    return domain(n, "pc", [simple("input", " type='tablet' bus='usb'") for _ in range(12)])


@template
def pc_ide_drives(n: str) -> str:
    """§13.5: hda..hdd over two IDE buses."""
    return domain(n, "pc", [disk(drive_name("hd", i), "ide") for i in range(4)])


@template
def pc_scsi_drives_9(n: str) -> str:
    """§13.5: seven units per lsilogic controller."""
    return domain(n, "pc", [disk(drive_name("sd", i), "scsi") for i in range(9)])


_DRIVE = "<address type='drive' controller='0' bus='0' target='0' unit='{}'/>"


@template
def pc_reject_drive_address_by_name(n: str) -> str:
    """Auto drive addresses come from the name (sdd -> unit 3), not the next free unit."""
    return domain(
        n, "pc", [disk("sda", "scsi", _DRIVE.format(3)), disk("sdb", "scsi"), disk("sdd", "scsi")]
    )


@template
def pc_drive_addresses_explicit(n: str) -> str:
    drive = _DRIVE
    return domain(
        n,
        "pc",
        [
            disk("sda", "scsi", drive.format(5)),
            disk("sdb", "scsi"),
            disk("sdc", "scsi", drive.format(0)),
            disk("sdd", "scsi"),
            disk("hdc", "ide"),
        ],
    )


@template
def pc_multifunction(n: str) -> str:
    """§13.11: multifunction marking and partly used slots."""
    return domain(
        n,
        "pc",
        [
            interface("e1000", pci(5, function=0)),
            interface("e1000", pci(5, function=1)),
            interface("e1000", pci(6, function=0, multifunction="off")),
            interface("e1000", pci(6, function=2)),
            interface("e1000", pci(7, function=3)),
            interface("e1000"),
        ],
    )


@template
def pc_walk_order(n: str) -> str:
    """§13.14 (without shmem/serial/vsock): the order of the PCI walk."""
    return domain(
        n,
        "pc",
        [
            filesystem("fs0"),
            interface("e1000e"),
            interface("virtio-transitional"),
            simple("sound", " model='ich6'"),
            controller("scsi", "virtio-scsi", 0),
            disk("vda", "virtio"),
            simple("rng", " model='virtio'", "<backend model='random'>/dev/urandom</backend>"),
            simple("watchdog", " model='i6300esb'"),
            simple("video", "", "<model type='qxl'/>"),
            simple("video", "", "<model type='qxl'/>"),
            simple("input", " type='keyboard' bus='virtio'"),
        ],
    )


@template
def pc_disk_order(n: str) -> str:
    """§13.13: the disk list order decides virtio slots."""
    return domain(
        n,
        "pc",
        [
            disk("vdc", "virtio"),
            disk("vda", "virtio"),
            disk("sdb", "scsi"),
            disk("vdb", "virtio"),
            disk("vde"),
            disk("vdd"),
            disk("hda"),
        ],
    )


@template
def pc_virtio_serial(n: str) -> str:
    """§13.7 without the consoles: ports and a second virtio-serial controller."""
    vs = "<address type='virtio-serial' controller='{}' bus='0'{}/>"
    return domain(
        n,
        "pc",
        [
            channel("a.0"),
            channel("a.1"),
            channel("a.2", vs.format(0, " port='5'")),
            channel("a.3", vs.format(2, "")),
        ],
    )


@template
def pc_i440fx_versioned_hostdevs(n: str) -> str:
    return domain(
        n,
        "pc-i440fx-7.2",
        [hostdev(0xF0), hostdev(0xF1, address=pci(9)), filesystem("t0"), interface("rtl8139")],
    )


@template
def pc_reject_double_use(n: str) -> str:
    return domain(n, "pc", [interface("e1000", pci(4)), disk("vda", "virtio", pci(4))])


@template
def pc_reject_slot_1_3(n: str) -> str:
    """00:01.3 is the PIIX4 ACPI function."""
    return domain(n, "pc", [interface("e1000", pci(1, function=3))])


# ---------------------------------------------------------------------------- address type fit
# libvirt's device validation: the address type must fit the device (check/fit.py's rules).

_PCI5 = pci(5)
_FIT_REJECTS = {
    "unassigned-nic": simple(
        "interface", " type='user'", "<model type='e1000'/>", "<address type='unassigned'/>"
    ),
    "pci-hostdev-drive": hostdev(6, 7, address=drive(0, 0, 0)),
    "scsi-hostdev-pci": simple(
        "hostdev",
        " mode='subsystem' type='scsi'",
        "<source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>",
        _PCI5,
    ),
    "usb-hostdev-pci": simple(
        "hostdev",
        " mode='subsystem' type='usb'",
        "<source><vendor id='0x1234'/><product id='0xbeef'/></source>",
        _PCI5,
    ),
    "scsi-host-hostdev-drive": simple(
        "hostdev",
        " mode='subsystem' type='scsi_host'",
        "<source protocol='vhost' wwpn='naa.5123456789abcde0'/>",
        drive(0, 0, 0),
    ),
    "isa-serial-pci": simple(
        "serial", " type='pty'", "<target type='isa-serial' port='0'/>", _PCI5
    ),
    "system-serial-pci": simple("serial", " type='pty'", "<target type='system-serial'/>", _PCI5),
    "pci-serial-usb": simple("serial", " type='pty'", "<target type='pci-serial'/>", usb(0, "1")),
    "usb-serial-pci": simple("serial", " type='pty'", "<target type='usb-serial'/>", _PCI5),
    "i6300esb-isa": simple("watchdog", " model='i6300esb'", "<address type='isa' iobase='0x505'/>"),
    "ib700-isa": simple("watchdog", " model='ib700'", "<address type='isa' iobase='0x505'/>"),
    "ramfb-pci": simple("video", "", "<model type='ramfb'/>", _PCI5),
    "usb-tablet-pci": simple("input", " type='tablet' bus='usb'", _PCI5),
}


def _fit_template(kind: str, device: str) -> Callable[[str], str]:
    def build(n: str) -> str:
        return domain(n, "pc", [device])

    build.__name__ = f"pc_reject_fit_{kind.replace('-', '_')}"
    build.__doc__ = f"address type misfit: {kind}"
    return build


for _kind, _device in _FIT_REJECTS.items():
    template(_fit_template(_kind, _device))


@template
def pc_reject_fit_usb_tablet_before_pci(n: str) -> str:
    """A misfit USB address is a parse error: it comes before a PCI double use."""
    clash = [interface("e1000", pci(4)), disk("vda", "virtio", pci(4))]
    return domain(n, "pc", [*clash, _FIT_REJECTS["usb-tablet-pci"]])


@template
def pc_reject_fit_ib700_after_pci(n: str) -> str:
    """Other misfits are raised by device validation, after a PCI double use."""
    clash = [interface("e1000", pci(4)), disk("vda", "virtio", pci(4))]
    return domain(n, "pc", [_FIT_REJECTS["ib700-isa"], *clash])


@template
def pc_reject_two_smartcards_ccid_0_0(n: str) -> str:
    """Both at ccid controller 0 slot 0: QEMU takes only one smartcard."""
    card = simple(
        "smartcard",
        " mode='passthrough' type='spicevmc'",
        "<address type='ccid' controller='0' slot='0'/>",
    )
    return domain(n, "pc", [card, card])


# A controller index is a C int read by strtol (virXMLPropInt): blanks before it and a sign are
# fine; anything after the digits, an empty value, hex and values beyond a C int are not.
_CONTROLLER_INDEXES = {
    "x": "x",
    "empty": "",
    "trailing-blank": "1 ",
    "hex": "0x1",
    "beyond-int": "2147483648",
    "minus-2": "-2",
    "leading-blank": " 1",
    "plus-sign": "+1",
    "leading-zero": "01",
}


def _controller_index_template(kind: str, index: str) -> Callable[[str], str]:
    def build(n: str) -> str:
        scsi = simple("controller", f" type='scsi' index='{index}'")
        return domain(n, "pc", [scsi, disk("sdb", "scsi", drive(1, 0, 0))])

    build.__name__ = f"pc_controller_index_{kind.replace('-', '_')}"
    build.__doc__ = f"a SCSI controller with index='{index}' and a disk on controller 1"
    return build


for _kind, _index in _CONTROLLER_INDEXES.items():
    template(_controller_index_template(_kind, _index))


# ---------------------------------------------------------------------------- parse refusals
# Mandatory parts missing or unknown: libvirt's parser refuses them (its message, exit 1), except
# a disk's or a filesystem's target, which device validation refuses after the addresses.

_NO_TARGET_FILE = simple("disk", " type='file' device='disk'", "<source file='/a.img'/>")
_PARSE_REJECTS = {
    "disk-no-target": [_NO_TARGET_FILE],
    "disk-no-target-dev": [
        simple("disk", " type='file'", "<source file='/a.img'/>", "<target bus='virtio'/>")
    ],
    "disk-no-target-no-source": [simple("disk", " type='file' device='cdrom'")],
    "disk-no-target-volume": [simple("disk", " type='volume'", "<source pool='p' volume='v'/>")],
    "disk-bad-bus": [
        simple("disk", " type='file'", "<source file='/a.img'/>", "<target dev='vda' bus='x'/>")
    ],
    "filesystem-no-target": [simple("filesystem", " type='mount'", "<source dir='/srv'/>")],
    "address-no-type": [interface("e1000", "<address bus='0x00' slot='0x05'/>")],
    "controller-bad-type": [simple("controller", " type='x' index='0'")],
    "controller-bad-model": [controller("scsi", "x", 0)],
    "controller-no-type-scsi-model": [simple("controller", " index='0' model='virtio-scsi'")],
    "input-no-type": [simple("input", " bus='usb'")],
    "sound-no-model": [simple("sound")],
    "watchdog-no-model": [simple("watchdog", " action='reset'")],
    "rng-no-model": [simple("rng", "", "<backend model='random'>/dev/urandom</backend>")],
    "hostdev-no-type": [
        simple(
            "hostdev",
            " mode='subsystem'",
            "<source><address domain='0x0000' bus='0xf1' slot='0x00' function='0x0'/></source>",
        )
    ],
    # the order of the stages: a PCI double use (address assignment) before the disk's target
    # (validation); a parse error of a later kind (sound) before both; disks validated first
    "disk-no-target-after-double-use": [
        _NO_TARGET_FILE, interface("e1000", pci(5)), interface("e1000", pci(5))
    ],
    "sound-no-model-before-double-use": [
        interface("e1000", pci(5)), interface("e1000", pci(5)), simple("sound")
    ],
    "disk-no-target-before-filesystem": [
        simple("filesystem", " type='mount'", "<source dir='/srv'/>"), _NO_TARGET_FILE
    ],
    "disk-no-target-before-ib700": [
        simple("watchdog", " model='ib700'", "<address type='isa' iobase='0x505'/>"),
        _NO_TARGET_FILE,
    ],
    # the watchdogs are counted when their kind is parsed, before the (later) model-less rng
    "second-watchdog-before-rng-no-model": [
        simple("rng", "", "<backend model='random'>/dev/urandom</backend>"),
        simple("watchdog", " model='i6300esb'"), simple("watchdog", " model='ib700'"),
    ],
    "second-watchdog-before-watchdog-no-model": [
        simple("watchdog", " action='reset'"), simple("watchdog", " model='ib700'"),
    ],
}  # fmt: skip


def _parse_template(kind: str, devices: list[str]) -> Callable[[str], str]:
    def build(n: str) -> str:
        return domain(n, "pc", devices)

    build.__name__ = f"pc_reject_parse_{kind.replace('-', '_')}"
    build.__doc__ = f"refused: {kind}"
    return build


for _kind, _devices in _PARSE_REJECTS.items():
    template(_parse_template(_kind, _devices))


@template
def pc_controller_no_type(n: str) -> str:
    """A controller without type is the IDE controller 0 (libvirt stores type='ide')."""
    return domain(n, "pc", [simple("controller", " index='0'")])


@template
def pc_reject_no_os_type(n: str) -> str:
    """No <os><type>: 'an os <type> must be specified', before any device problem."""
    text = domain(n, "pc", [interface("e1000", pci(5)), interface("e1000", pci(5))])
    return re.sub(r"\s*<os>.*?</os>", "", text, flags=re.S)


@template
def pc_reject_no_domain_type(n: str) -> str:
    """No type attribute on <domain>."""
    return domain(n, "pc", []).replace("<domain type='qemu'>", "<domain>")


# ---------------------------------------------------------------------------- versions
# Where libvirt 9.0 and 11.3 differ (../shared/docs/libvirt-11.3-differences.md, rule N), recorded
# from both daemons (``--libvirt 9.0`` and ``--libvirt 11.3``): each version's answer is its own.

_SPICE = simple("graphics", " type='spice'")
_USB_EMPTY_CDROM = disk("sdz", "usb", device="cdrom")


@template
def ver_implicit_scsi_before_virtio_serial(n: str) -> str:
    """Rule 1: the SCSI controller 1 a disk names goes after SCSI 0 (11.3), or last (9.0)."""
    return domain(
        n,
        "pc",
        [
            controller("scsi", None, 0),
            controller("virtio-serial", None, 0),
            disk("sdb", "scsi", drive(1, 0, 0)),
            BALLOON_NONE,
        ],
    )


@template
def ver_implicit_virtio_serial_q35(n: str) -> str:
    """Rule 1 on q35: an added virtio-serial 1 takes its root port before the USB controller's."""
    vs1 = "<address type='virtio-serial' controller='1' bus='0' port='1'/>"
    return domain(
        n,
        "q35",
        [
            controller("virtio-serial", None, 0),
            controller("usb", "qemu-xhci", 0),
            channel("org.virtaddr.0", vs1),
            BALLOON_NONE,
        ],
    )


@template
def ver_ich9_companion_without_index(n: str) -> str:
    """Rule 1b: an index-less ich9-uhci1 makes 11.3 sort every controller by type and index."""
    return domain(
        n,
        "pc",
        [
            controller("scsi", None, 1),
            simple("controller", " type='scsi'"),
            controller("usb", "ich9-ehci1", 0),
            controller("usb", "ich9-uhci1", None, None, ["<master startport='0'/>"]),
            BALLOON_NONE,
        ],
    )


@template
def ver_usb_port_order(n: str) -> str:
    """Rule 2: USB ports in 9.0's per-kind order or 11.3's device walk."""
    return domain(
        n,
        "pc",
        [
            controller("usb", "qemu-xhci", 0, ports=8),
            simple("input", " type='tablet' bus='usb'"),
            simple("serial", " type='pty'", "<target type='usb-serial'/>"),
            simple("sound", " model='usb'"),
            disk("sda", "usb"),
            usb_hostdev(0xBEEF),
            simple("smartcard", " mode='passthrough' type='spicevmc'"),
            simple("redirdev", " bus='usb' type='spicevmc'"),
            _SPICE,
            BALLOON_NONE,
        ],
    )


@template
def ver_usb_net_and_mtp(n: str) -> str:
    """Rule 2: a usb-net interface and an MTP filesystem (11.3; 9.0 knows no mtp driver)."""
    mtp = simple(
        "filesystem",
        " type='mount'",
        "<driver type='mtp'/>",
        "<source dir='/srv/mtp'/>",
        "<target dir='mtp'/>",
    )
    usb_net = simple("interface", " type='user'", "<model type='usb-net'/>")
    return domain(n, "pc", [simple("input", " type='tablet' bus='usb'"), usb_net, mtp])


@template
def ver_q35_watchdog_action(n: str) -> str:
    """Rule 3: 11.3 adds an itco watchdog with the first watchdog's action."""
    return domain(n, "q35", [simple("watchdog", " model='i6300esb' action='poweroff'")])


@template
def ver_usb_cdrom_empty(n: str) -> str:
    """Rule 6: an empty USB cdrom (11.3 refuses it)."""
    return domain(n, "pc", [_USB_EMPTY_CDROM])


@template
def ver_ib700_on_q35(n: str) -> str:
    """Rule 7: an ib700 watchdog on q35 (11.3 refuses it)."""
    return domain(n, "q35", [simple("watchdog", " model='ib700' action='reset'")])


@template
def ver_two_ib700(n: str) -> str:
    """Two ib700 watchdogs: 9.0's parser takes one watchdog, 11.3 one of each model."""
    ib700 = simple("watchdog", " model='ib700'")
    return domain(n, "pc", [ib700, simple("watchdog", " model='i6300esb'"), ib700])


@template
def ver_two_ib700_q35(n: str) -> str:
    """Domain validation (one ib700) comes before device validation (ib700 off i440fx)."""
    ib700 = simple("watchdog", " model='ib700'")
    return domain(n, "q35", [ib700, ib700])


@template
def ver_watchdog_actions_differ(n: str) -> str:
    """11.3: every watchdog has the first one's action (device validation)."""
    return domain(
        n,
        "pc",
        [
            simple("watchdog", " model='i6300esb'"),
            simple("watchdog", " model='ib700' action='poweroff'"),
        ],
    )


@template
def ver_watchdog_actions_differ_after_usb_cdrom(n: str) -> str:
    """Device validation in walk order: the disk before the watchdogs."""
    return domain(
        n,
        "pc",
        [
            simple("watchdog", " model='i6300esb'"),
            simple("watchdog", " model='ib700' action='poweroff'"),
            _USB_EMPTY_CDROM,
        ],
    )


@template
def ver_itco_on_pc(n: str) -> str:
    """An itco watchdog: 9.0 knows no such model, 11.3 has it on q35 only."""
    return domain(n, "pc", [simple("watchdog", " model='itco'")])


@template
def ver_itco_on_q35(n: str) -> str:
    """A written itco watchdog on q35: 11.3 keeps it and adds none (9.0 knows no such model)."""
    return domain(n, "q35", [simple("watchdog", " model='itco' action='poweroff'")])


@template
def ver_pseries_implicit_phb(n: str) -> str:
    """Rule 1 on pSeries: the PHB libvirt adds takes its target index in list order (11.3)."""
    return domain(
        n,
        "pseries",
        [
            controller("pci", "pci-root", 0),
            controller("pci", "pci-root", 2),
            controller("usb", "none", 0),
        ],
        arch="ppc64",
    )


@template
def ver_s390_added_bridge_zpci(n: str) -> str:
    """Rule 4: 11.3 gives the pci-bridge it adds on s390x a zPCI uid and fid."""
    zpci = (
        "<address type='pci' bus='0x01' slot='0x01'><zpci uid='0x0005' fid='0x00000005'/></address>"
    )
    rng = simple("rng", " model='virtio'", "<backend model='random'>/dev/urandom</backend>", zpci)
    return domain(
        n, "s390-ccw-virtio", [controller("pci", "pci-root", 0), rng, BALLOON_NONE], arch="s390x"
    )


# ---------------------------------------------------------------------------- recording


def fixture_files(name: str, libvirt: str = "9.0") -> list[Path]:
    folder = fixtures_dir(libvirt)
    return [folder / f"{name}{ext}" for ext in (".in.xml", ".out.xml", ".err")]


def record(inputs: dict[str, str], force: bool, libvirt: str = "9.0") -> int:
    """Write NAME.in.xml for each input and libvirt ``libvirt``'s answer into that version's
    fixtures; 0 ok, 1 refused/failed."""
    folder = fixtures_dir(libvirt)
    existing = [p for name in inputs for p in fixture_files(name, libvirt) if p.exists()]
    if existing and not force:
        print("refusing to overwrite existing fixtures (use --force):", file=sys.stderr)
        for p in existing:
            print(f"  {p}", file=sys.stderr)
        return 1
    assign = oracle_dir() / "libvirt-assign"
    if not assign.is_file():
        print(f"record_fixtures: {assign} not found: set VIRTADDR_ORACLE", file=sys.stderr)
        return 1
    folder.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="virtaddr-record-") as tmp:
        src, out = Path(tmp, "in"), Path(tmp, "out")
        src.mkdir()
        for name, text in inputs.items():
            (src / f"{name}.xml").write_text(text)
        proc = subprocess.run(
            [str(assign), "--libvirt", libvirt, "--out", str(out)]
            + [str(src / f"{n}.xml") for n in inputs],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode not in (0, 1):
            print(f"libvirt-assign failed ({proc.returncode}):\n{proc.stderr}", file=sys.stderr)
            return 1
        errors = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"(.*?\.xml): (.*)", line)
            if m and Path(m.group(1)).parent == src:
                errors[Path(m.group(1)).name[: -len(".xml")]] = m.group(2).strip()
        status = 0
        for name, text in inputs.items():
            path_in, path_out, path_err = fixture_files(name, libvirt)
            for stale in (path_out, path_err):
                stale.unlink(missing_ok=True)
            path_in.write_text(text)
            answer = out / f"{name}.xml"
            if answer.is_file():
                path_out.write_text(answer.read_text())
                print(f"recorded {path_in.parent.name}/{name}: accepted by libvirt {libvirt}")
            elif name in errors:
                path_err.write_text(errors[name] + "\n")
                where = f"{path_in.parent.name}/{name}"
                print(f"recorded {where}: rejected by libvirt {libvirt}: {errors[name]}")
            else:
                print(f"{name}: no answer from libvirt-assign\n{proc.stderr}", file=sys.stderr)
                status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="overwrite existing fixtures")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these templates")
    ap.add_argument(
        "--import",
        dest="imports",
        nargs="+",
        metavar="NAME=FILE",
        default=[],
        help="record FILE (e.g. a differential counterexample) as fixture NAME",
    )
    ap.add_argument(
        "--libvirt",
        choices=ORACLE_VERSIONS,
        default="9.0",
        help="the daemon that answers, and so the fixtures folder (default 9.0: fixtures/)",
    )
    ap.add_argument("--list", action="store_true", help="list the templates and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, func in TEMPLATES.items():
            doc = (func.__doc__ or "").strip().splitlines()
            print(f"{name:36} {doc[0] if doc else ''}".rstrip())
        return 0
    inputs: dict[str, str] = {}
    if args.imports:
        for item in args.imports:
            name, sep, file = item.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
                ap.error(f"--import wants NAME=FILE, got {item!r}")
            inputs[name] = Path(file).read_text()
    if args.only or not args.imports:
        names = args.only or list(TEMPLATES)
        unknown = [n for n in names if n not in TEMPLATES]
        if unknown:
            ap.error(f"unknown templates: {', '.join(unknown)}")
        inputs.update({n: TEMPLATES[n](n) for n in names})
    return record(inputs, args.force, args.libvirt)


if __name__ == "__main__":
    sys.exit(main())
