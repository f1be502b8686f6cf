"""Domains where libvirt 9.0 and 11.3 differ, with both daemons' answers: for ``check --libvirt
9.0,11.3`` (``tests/unit/test_cli_versions.py``, and ``tests/oracle/test_check_versions.py``
against the live daemons). The answers were recorded from ``../shared/oracle/libvirt-assign FILE``
(9.0) and ``libvirt-assign --libvirt 11.3 FILE``, compared with ``compare-addresses
--controller-details``.
"""

from __future__ import annotations

import re

# A kiosk guest with a USB stick image and a USB dongle passed through. libvirt 9.0 gives USB
# ports to hostdevs before disks, 11.3 in its device walk (disks first): the two swap ports.
KIOSK = """\
<domain type='kvm'>
  <name>kiosk</name>
  <memory unit='GiB'>2</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/kiosk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/stick.img'/>
      <target dev='sda' bus='usb'/>
    </disk>
    <hostdev mode='subsystem' type='usb'>
      <source><vendor id='0x0529'/><product id='0x0001'/></source>
    </hostdev>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <input type='tablet' bus='usb'/>
    <graphics type='spice'/>
  </devices>
</domain>
"""
#: device → (9.0's address, 11.3's address), from the two daemons.
KIOSK_DIFFERENCES = {
    ("disk sda", 11): ({"type": "usb", "bus": 0, "port": 2}, {"type": "usb", "bus": 0, "port": 1}),
    ("hostdev usb #1", 15): (
        {"type": "usb", "bus": 0, "port": 1},
        {"type": "usb", "bus": 0, "port": 2},
    ),
}


def _header(machine: str) -> str:
    return (
        "<domain type='qemu'><name>p</name><memory>131072</memory>\n"
        f"  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>\n"
        "  <devices>\n"
    )


# libvirt-11.3-differences.md rule 1: the scsi controller 1 a disk implies is appended by 9.0
# (after virtio-serial 0: slot 4), inserted after scsi 0 by 11.3 (slot 3, virtio-serial slot 4).
IMPLICIT_SCSI = (
    _header("pc")
    + """\
    <controller type='scsi' index='0'/>
    <controller type='virtio-serial' index='0'/>
    <disk type='file' device='disk'><source file='/tmp/a.img'/><target dev='sdb' bus='scsi'/>
      <address type='drive' controller='1' bus='0' target='0' unit='0'/></disk>
  </devices></domain>
"""
)


def _pci(slot: int) -> dict[str, object]:
    return {"type": "pci", "domain": 0, "bus": 0, "slot": slot, "function": 0}


IMPLICIT_SCSI_DIFFERENCES = {
    ("controller scsi index 1", None): (_pci(4), _pci(3)),  # added by libvirt: no line
    ("controller virtio-serial index 0", 5): (_pci(3), _pci(4)),
}

# Rule 6: 11.3 rejects an empty USB cdrom ("unsupported configuration: 'usb' disk must not be
# empty"); 9.0 defines it.
EMPTY_USB_CDROM = (
    _header("pc")
    + "    <disk type='file' device='cdrom'><target dev='sda' bus='usb'/><readonly/></disk>\n"
    + "  </devices></domain>\n"
)
# 9.0 rejects a second watchdog ("internal error: only a single watchdog device is
# supported"); 11.3 defines both.
TWO_WATCHDOGS = (
    _header("q35")
    + "    <watchdog model='i6300esb'/>\n    <watchdog model='itco'/>\n  </devices></domain>\n"
)
# Both reject it: two NICs in one slot.
COLLISION = (
    _header("pc")
    + "    <interface type='user'><address type='pci' bus='0' slot='3'/></interface>\n"
    + "    <interface type='user'><address type='pci' bus='0' slot='3'/></interface>\n"
    + "  </devices></domain>\n"
)


def address_numbers(text: str) -> dict[str, object]:
    """An ``<address .../>`` of a message as numbers (as libvirt reads them; a USB port path
    behind hubs, ``2.4``, as its text)."""
    out: dict[str, object] = {}
    for key, value in re.findall(r"(\w+)='([^']*)'", text):
        if key == "type":
            out[key] = value
        elif "." in value:
            out[key] = ".".join(str(int(part)) for part in value.split("."))
        else:
            out[key] = int(value, 0)
    return out
