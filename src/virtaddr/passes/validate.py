"""libvirt's define-time checks that an address fits its device, for ``assign`` and ``check``.

:func:`address_type_errors` holds the rules (each message libvirt's own, observed on the live
daemon; :mod:`virtaddr.checker.fit` re-exports it, and they live here so that ``assign`` does not
import the ``check`` package). libvirt raises them at
two stages: its parser refuses a non-USB address on a USB input or redirdev, before anything is
placed; device validation, after every address is assigned, refuses the other misfits and a
second smartcard (``qemuValidateDomainSmartcardDef``: QEMU takes one, at ccid 0:0). The misfits
are judged on the addresses as written, before any pass changes them.
"""

from __future__ import annotations

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import WALK_ORDER, Domain
from virtaddr.libvirt.machine import ARM_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.ccw import ccw_misfits
from virtaddr.passes.defaults import input_bus
from virtaddr.passes.versions import LibvirtRules

__all__ = [
    "AddressMisfits",
    "address_misfits",
    "address_type_errors",
    "check_smartcard_count",
    "in_walk_order",
    "kind_parse_errors",
    "machine_misfits",
    "version_domain_refusals",
    "version_refusals",
    "video_misfits",
]

_PARSE_MESSAGES = frozenset({"Invalid address for a USB device"})


class AddressMisfits:
    """The address-type errors of a domain, by the stage where libvirt raises them."""

    __slots__ = ("at_parse", "at_validation")

    def __init__(self) -> None:
        self.at_parse: list[Problem] = []
        self.at_validation: list[Problem] = []


def address_misfits(domain: Domain) -> AddressMisfits:
    """Every device whose written ``<address>`` type libvirt refuses for that device; at parse
    also what the parser refuses of a kind as a whole (:func:`kind_parse_errors`), at device
    validation also an IOMMU or NVRAM device the machine cannot have (:func:`machine_misfits`)."""
    found = AddressMisfits()
    for error in address_type_errors(domain):
        stage = found.at_parse if error.message in _PARSE_MESSAGES else found.at_validation
        stage.append(error)
    if not found.at_parse:
        found.at_parse = kind_parse_errors(domain)
    found.at_validation += machine_misfits(domain)
    return found


# What libvirt's parser says of a USB input, USB host device or USB hub once it has parsed a USB
# controller of model 'none' (the other USB devices are refused later, by USB address assignment).
_USB_DISABLED = {
    "input": "Can't add USB input device. USB bus is disabled",
    "hostdev": "Can't add host USB device: USB is disabled in this host",
    "hub": "Can't add USB hub: USB is disabled for this domain",
}


_ICH9_UHCI = ("ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def kind_parse_errors(domain: Domain) -> list[Problem]:
    """The first of these parser refusals, in libvirt's parse order of the kinds: USB companion
    controllers (ich9-uhci) with no other USB controller; a USB input, USB host device or USB hub
    when USB is disabled. (A second watchdog, IOMMU or vsock device:
    :func:`~virtaddr.passes.parse_checks.parse_errors`.)

    USB counts as disabled when every USB controller is of model 'none': with another one too,
    libvirt's parser refuses that controller first
    (:func:`~virtaddr.passes.defaults.check_duplicate_indexes`).
    """
    usb = domain.controllers("usb")
    if usb and all(c.get("model") in _ICH9_UHCI for c in usb):
        return [usb[0].error("No master USB controller specified")]
    if not usb_disabled(domain):
        return []
    for tag in ("input", "hostdev", "hub"):  # the parser's order
        for dev in domain.lists[tag]:
            error = usb_disabled_error(domain, dev)
            if error is not None:
                return [error]
    return []


def usb_disabled(domain: Domain) -> bool:
    """Whether the domain has USB controllers and every one is of model 'none'."""
    usb = domain.controllers("usb")
    return bool(usb) and all(c.get("model") == "none" for c in usb)


def usb_disabled_error(domain: Domain, dev: Device) -> Problem | None:
    """The parser's refusal of ``dev`` (a USB input, host device or hub) when USB is disabled."""
    tag = dev.tag
    if dev.elem is None or tag not in _USB_DISABLED or not usb_disabled(domain):
        return None
    if tag == "input":
        wanted = input_bus(dev, domain.machine.arch) == "usb"
    elif tag == "hostdev":
        wanted = dev.get("mode", "subsystem") == "subsystem" and dev.get("type") == "usb"
    else:
        wanted = dev.get("type") == "usb"
    return dev.error(_USB_DISABLED[tag]) if wanted else None


def machine_misfits(domain: Domain) -> list[Problem]:
    """IOMMU and NVRAM devices and CCW addresses refused by device validation for the machine
    (libvirt's generic check of the IOMMU's address, then QEMU's of the machine, ACPI and
    address type), each kind in walk order."""
    errors: list[Problem] = []
    machine = domain.machine
    arm_virt = machine.family == "virt" and machine.arch in ARM_ARCHES
    for dev in domain.lists["iommu"]:
        model = dev.get("model")
        if model in ("intel", "smmuv3") and dev.addr_type is not None:
            errors.append(dev.error(f"iommu model '{model}' can't have address"))
        elif model == "intel" and not machine.is_q35:
            errors.append(dev.error("IOMMU device: 'intel' is only supported with Q35 machines"))
        elif model == "smmuv3" and not arm_virt:
            errors.append(
                dev.error("IOMMU device: 'smmuv3' is only supported with ARM Virt machines")
            )
        elif model == "virtio" and not (machine.is_q35 or arm_virt):
            errors.append(
                dev.error("IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines")
            )
        elif model == "virtio" and domain._find(domain.root, "features", "acpi") is None:
            errors.append(dev.error("IOMMU device: 'virtio' requires ACPI"))
        elif model == "virtio" and dev.addr_type not in (None, "pci"):
            errors.append(dev.error("IOMMU device: 'virtio' needs a PCI address"))
    errors += ccw_misfits(domain)
    if machine.family != "pseries":
        errors += [
            d.error("nvram device is only supported for PPC64") for d in domain.lists["nvram"]
        ]
    return errors


def video_misfits(domain: Domain) -> list[Problem]:
    """Videos device validation refuses (after the device defaults): a 'none' video next to
    another one; a secondary video of a model other than qxl or virtio (the first video is the
    primary one)."""
    videos = domain.lists["video"]
    errors: list[Problem] = []
    for n, v in enumerate(videos):
        model = v.model
        if model == "none" and len(videos) > 1:
            message = "a 'none' video type must be the only video device defined for the domain"
            errors.append(v.error(message))
        elif n > 0 and model not in ("qxl", "virtio"):
            errors.append(v.error(f"video type '{model}' is only valid as primary video device"))
    return errors


def in_walk_order(errors: list[Problem]) -> list[Problem]:
    """``errors`` (each in walk order within its kind) sorted by the device kind of each, in
    libvirt's device walk, where its per-device validation meets them."""
    if len(errors) < 2:
        return errors
    rank = {("interface" if tag == "net" else tag): n for n, tag in enumerate(WALK_ORDER)}
    return sorted(errors, key=lambda e: rank.get((e.device or "").split(" ", 1)[0], len(rank)))


def check_smartcard_count(domain: Domain) -> list[Problem]:
    """libvirt refuses more than one smartcard (even when every one is at ccid 0:0)."""
    cards = domain.lists["smartcard"]
    if len(cards) < 2:
        return []
    return [cards[1].error("this QEMU binary lacks multiple smartcard support")]


def address_type_errors(domain: Domain) -> list[Problem]:
    """One error per device whose ``<address>`` type libvirt refuses for that device."""
    errors: list[Problem] = []
    arch = domain.machine.arch
    for devices in domain.lists.values():
        for dev in devices:
            if dev.addr_type is None or dev.elem is None or dev.child("address") is None:
                continue
            message = _misfit(dev, dev.addr_type, arch)
            if message is not None:
                errors.append(dev.error(message))
    return errors


def _misfit(dev: Device, atype: str, arch: str) -> str | None:
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
    if tag == "input" and input_bus(dev, arch) == "usb" and atype != "usb":
        return "Invalid address for a USB device"
    if tag == "redirdev" and dev.get("bus") == "usb" and atype != "usb":
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


def version_domain_refusals(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """What the domain-wide validation of the libvirt version of ``rules`` refuses besides
    addresses (before any device is validated): a second watchdog of one model, i6300esb aside
    (rule 3; the first such model in list order)."""
    if not rules.several_watchdogs:
        return []
    seen = set()
    for w in domain.lists["watchdog"]:
        model = w.get("model")
        if model == "i6300esb":
            continue
        if model in seen:
            return [domain.error(f"domain can only have one watchdog with model '{model}'")]
        seen.add(model)
    return []


def version_refusals(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """What device validation of the libvirt version of ``rules`` refuses besides addresses,
    in walk order: an empty USB disk (rule 6); a watchdog whose action is not the first one's
    (rule 3), else an ib700 watchdog off i440fx (rule 7) or an itco one off q35."""
    errors = []
    if rules.usb_disk_needs_source:
        for disk in domain.lists["disk"]:
            if disk.bus == "usb" and _empty_disk(disk):
                errors.append(disk.error("'usb' disk must not be empty"))
    watchdogs = domain.lists["watchdog"]
    first_action = (watchdogs[0].get("action") or "reset") if watchdogs else None
    for w in watchdogs:
        if rules.several_watchdogs and (w.get("action") or "reset") != first_action:
            message = "watchdogs with different actions are not supported with this QEMU binary"
            errors.append(w.error(message))
        elif (
            rules.ib700_only_on_i440fx
            and not domain.machine.is_i440fx
            and w.get("model") == "ib700"
        ):
            errors.append(w.error("ib700 model of watchdog cannot be used with this machine type"))
        elif rules.q35_itco_watchdog and not domain.machine.is_q35 and w.get("model") == "itco":
            errors.append(w.error("itco model of watchdog is only part of q35 machine"))
    return errors


_LOCAL_SOURCES = {"file": "file", "block": "dev", "dir": "dir"}


def _empty_disk(disk: Device) -> bool:
    """libvirt's virStorageSourceIsEmpty: local storage without a path, a network disk without
    a protocol."""
    dtype = disk.get("type") or "file"
    source = disk.child("source")
    if dtype in _LOCAL_SOURCES:
        return source is None or not source.get(_LOCAL_SOURCES[dtype])
    if dtype == "network":
        return source is None or not source.get("protocol")
    return False
