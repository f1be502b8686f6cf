"""An address number past what libvirt's reader takes (a C ``unsigned int``) is refused when the
domain is read, in the parser's words, by ``assign`` and ``check`` alike, before any pass runs
(a drive ``controller='4294967296'`` once made the drive pass add controllers up to it).

The messages were asked of both daemons (``libvirt-assign --libvirt 9.0`` and ``--libvirt
11.3`` give the same words); a spapr-vio ``reg`` is read as an ``unsigned long long`` and held to
32 bits with a message of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from virtaddr.cli import main

_HEADER = (
    "<domain type='kvm'><name>t</name><memory>1024</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
)
_DISK = "<disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/>"

CASES = {
    "drive-controller": (
        f"{_DISK}<address type='drive' controller='4294967296' bus='0' target='0' unit='0'/>"
        "</disk>",
        "Invalid value for attribute 'controller' in element 'address': '4294967296'. "
        "Expected non-negative integer value",
    ),
    "drive-unit": (
        f"{_DISK}<address type='drive' controller='0' bus='0' target='0' unit='4294967296'/>"
        "</disk>",
        "Invalid value for attribute 'unit' in element 'address': '4294967296'. "
        "Expected non-negative integer value",
    ),
    "pci-bus": (
        "<interface type='user'>"
        "<address type='pci' domain='0' bus='0x100000000' slot='3' function='0'/></interface>",
        "Invalid value for attribute 'bus' in element 'address': '0x100000000'. "
        "Expected non-negative integer value",
    ),
    "virtio-serial-port": (
        "<controller type='virtio-serial' index='0'/><channel type='pty'>"
        "<target type='virtio' name='a.b'/>"
        "<address type='virtio-serial' controller='0' bus='0' port='4294967296'/></channel>",
        "Invalid value for attribute 'port' in element 'address': '4294967296'. "
        "Expected non-negative integer value",
    ),
    "ccid-slot": (
        "<smartcard mode='passthrough' type='spicevmc'>"
        "<address type='ccid' controller='0' slot='4294967296'/></smartcard>",
        "Invalid value for attribute 'slot' in element 'address': '4294967296'. "
        "Expected non-negative integer value",
    ),
}


@pytest.mark.parametrize("libvirt", ["9.0", "11.3"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_number_past_unsigned_int_is_the_parsers_refusal(
    case: str, libvirt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devices, message = CASES[case]
    path = tmp_path / "guest.xml"
    path.write_text(f"{_HEADER}{devices}</devices></domain>\n")
    assert main(["assign", "--libvirt", libvirt, str(path)]) == 1
    assert capsys.readouterr().err.splitlines()[0].endswith(f": {message}")
    assert main(["check", "--libvirt", libvirt, str(path)]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if ": error: " in line]
    assert errors[0].endswith(f": {message}")
    assert sum(message in line for line in errors) == 1  # reported once
