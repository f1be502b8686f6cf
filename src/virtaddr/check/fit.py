"""Whether each device's address type fits the device, as libvirt 9.0 validates it at define.

``assign``'s define pipeline raises them too, at libvirt's stage (:mod:`virtaddr.passes.validate`);
the messages are libvirt's own, each observed on the live daemon.
"""

from __future__ import annotations

from virtaddr.errors import AddressError
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain

__all__ = ["address_type_errors"]


def address_type_errors(domain: Domain) -> list[AddressError]:
    """One error per device whose ``<address>`` type libvirt refuses for that device."""
    errors: list[AddressError] = []
    for name in domain.lists:
        for dev in domain.lists[name]:
            if dev.elem is None or dev.child("address") is None or dev.addr_type is None:
                continue
            message = _misfit(dev, dev.addr_type)
            if message is not None:
                errors.append(dev.error(message))
    return errors


def _misfit(dev: Device, atype: str) -> str | None:
    tag = dev.tag
    if atype == "unassigned" and tag != "hostdev":
        return "address of type 'unassigned' is supported only for hostdevs"
    if tag == "hostdev" and dev.get("mode", "subsystem") == "subsystem":
        return _hostdev(dev.get("type"), atype)
    if tag == "serial":
        target = dev.child_get("target", "type")
        if target == "isa-serial" and atype != "isa":
            return "Target type 'isa-serial' requires address type 'isa'"
        if target == "pci-serial" and atype != "pci":
            return "Target type 'pci-serial' requires address type 'pci'"
        if target == "usb-serial" and atype != "usb":
            return "usb-serial requires address of usb type"
        if target == "system-serial":
            return "Target type 'system-serial' cannot have an associated address"
    if tag == "watchdog":
        model = dev.get("model")
        if model == "i6300esb" and atype != "pci":
            return "i6300esb model of watchdog can go only on PCI bus"
        if model == "ib700":
            return "ib700 model of watchdog does not support configuring the address"
    if tag == "video" and dev.child_get("model", "type") == "ramfb":
        return "address not supported for video type ramfb"
    if tag in ("input", "redirdev") and dev.get("bus") == "usb" and atype != "usb":
        return "Invalid address for a USB device"
    return None


def _hostdev(htype: str | None, atype: str) -> str | None:
    if htype == "pci" and atype not in ("pci", "unassigned"):
        return "PCI host devices must use 'pci' or 'unassigned' address type"
    if htype == "scsi" and atype != "drive":
        return "SCSI host device must use 'drive' address type"
    if htype == "usb" and atype != "usb":
        return "USB host device must use 'usb' address type"
    if htype == "scsi_host" and atype not in ("pci", "ccw"):
        return "SCSI_host host device must use 'pci' or 'ccw' address type"
    return None
