"""libvirt's define-time checks that an address fits its device, for ``assign`` and ``check``.

:func:`address_type_errors` holds the rules (each message libvirt's own, observed on the live
daemon; :mod:`virtaddr.check.fit` re-exports it, and they live here so that ``assign`` does not
import the ``check`` package). libvirt raises them at
two stages: its parser refuses a non-USB address on a USB input or redirdev, before anything is
placed; device validation, after every address is assigned, refuses the other misfits and a
second smartcard (``qemuValidateDomainSmartcardDef``: QEMU takes one, at ccid 0:0). The misfits
are judged on the addresses as written, before any pass changes them.
"""

from __future__ import annotations

from virtaddr.errors import AddressError
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain

__all__ = ["AddressMisfits", "address_misfits", "address_type_errors", "check_smartcard_count"]

_PARSE_MESSAGES = frozenset({"Invalid address for a USB device"})


class AddressMisfits:
    """The address-type errors of a domain, by the stage where libvirt raises them."""

    __slots__ = ("at_parse", "at_validation")

    def __init__(self) -> None:
        self.at_parse: list[AddressError] = []
        self.at_validation: list[AddressError] = []


def address_misfits(domain: Domain) -> AddressMisfits:
    """Every device whose written ``<address>`` type libvirt refuses for that device."""
    found = AddressMisfits()
    for error in address_type_errors(domain):
        stage = found.at_parse if error.message in _PARSE_MESSAGES else found.at_validation
        stage.append(error)
    return found


def check_smartcard_count(domain: Domain) -> list[AddressError]:
    """libvirt refuses more than one smartcard (even when every one is at ccid 0:0)."""
    cards = domain.lists["smartcard"]
    if len(cards) < 2:
        return []
    return [cards[1].error("this QEMU binary lacks multiple smartcard support")]


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
