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
from virtaddr.libvirt.machine import ARM_ARCHES, S390_ARCHES
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
    "mdev_address_error",
    "mdev_address_errors",
    "panic_errors",
    "version_domain_refusals",
    "version_refusals",
    "video_misfits",
    "xhci_port_errors",
]

_PARSE_MESSAGES = frozenset({"Invalid address for a USB device"})


class AddressMisfits:
    """The address-type errors of a domain, by the stage where libvirt raises them."""

    __slots__ = ("at_parse", "at_validation")

    def __init__(self) -> None:
        self.at_parse: list[Problem] = []
        self.at_validation: list[Problem] = []


def address_misfits(domain: Domain, rules: LibvirtRules) -> AddressMisfits:
    """Every device whose written ``<address>`` type libvirt refuses for that device; at parse
    also what the parser refuses of a kind as a whole (:func:`kind_parse_errors`), at device
    validation also an IOMMU or NVRAM device the machine cannot have (:func:`machine_misfits`)."""
    found = AddressMisfits()
    for error in address_type_errors(domain):
        stage = found.at_parse if error.message in _PARSE_MESSAGES else found.at_validation
        stage.append(error)
    if not found.at_parse:
        found.at_parse = kind_parse_errors(domain)
    found.at_validation += machine_misfits(domain, rules)
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


def machine_misfits(domain: Domain, rules: LibvirtRules) -> list[Problem]:
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
    errors += ccw_misfits(domain, rules)
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


_ITCO_ADDRESS = "itco model of watchdog is part of the machine and cannot have any address set."


def version_refusals(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """What device validation of the libvirt version of ``rules`` refuses besides addresses,
    in walk order: an empty USB disk (rule 6); a watchdog whose action is not the first one's
    (rule 3), else an ib700 watchdog off i440fx (rule 7) or an itco one off q35 or with an
    address."""
    errors = []
    if rules.usb_disk_needs_source:
        for disk in domain.lists["disk"]:
            if disk.bus == "usb" and _empty_disk(disk):
                errors.append(disk.error("'usb' disk must not be empty"))
    watchdogs = domain.lists["watchdog"]
    first_action = (watchdogs[0].get("action") or "reset") if watchdogs else None
    for w in watchdogs:
        itco = rules.itco_watchdog_model and w.get("model") == "itco"
        if rules.several_watchdogs and (w.get("action") or "reset") != first_action:
            message = "watchdogs with different actions are not supported with this QEMU binary"
            errors.append(w.error(message))
        elif (
            rules.ib700_only_on_i440fx
            and not domain.machine.is_i440fx
            and w.get("model") == "ib700"
        ):
            errors.append(w.error("ib700 model of watchdog cannot be used with this machine type"))
        elif itco and not domain.machine.is_q35:
            errors.append(w.error("itco model of watchdog is only part of q35 machine"))
        elif itco and w.addr_type is not None:
            errors.append(w.error(_ITCO_ADDRESS))
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


# ---------------------------------------------------------------------------- panic devices


def panic_model(domain: Domain, panic: Device, rules: LibvirtRules) -> str:
    """A ``<panic>``'s model: as written, else the machine's (the QEMU driver's post-parse:
    pSeries, s390, then ISA on x86; with ``rules.pvpanic``, pvpanic on ARM virt and none
    elsewhere, else ISA everywhere)."""
    model = panic.get("model")
    if model not in (None, "default"):
        return model
    machine = domain.machine
    if machine.family == "pseries":
        return "pseries"
    if machine.arch in S390_ARCHES:
        return "s390"
    if machine.is_x86 or not rules.pvpanic:
        return "isa"
    return "pvpanic" if machine.family == "virt" and machine.arch in ARM_ARCHES else "default"


_PANIC_MACHINE = {
    "s390": "only S390 guests support panic device of model 's390'",
    "hyperv": "only i686 and x86_64 guests support panic device of model 'hyperv'",
    "pseries": "only pSeries guests support panic device of model 'pseries'",
}


_NO_PANIC_MODEL = "no panic model provided, and no default for the architecture and machine type"


def panic_errors(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """The QEMU driver's validation of the domain's panic devices, in list order: a model the
    machine has no such device for, or an address the model cannot take. libvirt runs it with
    its domain-wide checks, after every address is assigned, before any device's validation;
    a model left out is the machine's (:func:`panic_model`: a pSeries ``<panic>`` with an
    address is refused as ``model='pseries'`` is)."""
    machine = domain.machine
    errors: list[Problem] = []
    for p in domain.lists["panic"]:
        model = panic_model(domain, p, rules)
        fits = {
            "s390": machine.arch in S390_ARCHES,
            "hyperv": machine.is_x86,
            "pseries": machine.family == "pseries",
        }
        if model in fits:
            if not fits[model]:
                errors.append(p.error(_PANIC_MACHINE[model]))
            elif p.addr_type is not None:
                message = f"setting the panic device address is not supported for model '{model}'"
                errors.append(p.error(message))
        elif model == "isa":
            if not machine.is_x86:
                errors.append(p.error("the QEMU binary does not support the ISA panic device"))
            elif p.addr_type not in (None, "isa"):
                errors.append(p.error("panic is supported only with ISA address type"))
        elif model == "pvpanic":
            # placed on PCI when it has no address (virtaddr leaves it without one)
            if p.addr_type not in (None, "pci"):
                errors.append(p.error("pvpanic is supported only with PCI address type"))
        elif model == "default":
            errors.append(p.error(_NO_PANIC_MODEL))
    return errors


# ---------------------------------------------------------------------------- mediated devices

_MDEV_ADDRESS = {"vfio-pci": "pci", "vfio-ccw": "ccw"}


def mdev_address_error(hostdev: Device) -> Problem | None:
    """A mediated device whose address is not of its model's type (libvirt's post-parse of the
    hostdev, in the device walk, on every architecture; vfio-ap takes any)."""
    h = hostdev
    if h.tag != "hostdev" or h.get("type") != "mdev" or h.addr_type is None:
        return None
    if (h.get("mode") or "subsystem") != "subsystem":
        return None
    model = h.get("model")
    wanted = _MDEV_ADDRESS.get(model or "")
    if wanted is None or h.addr_type == wanted:
        return None
    return h.error(f"Unsupported address type '{h.addr_type}' with mediated device model '{model}'")


def mdev_address_errors(domain: Domain) -> list[Problem]:
    """:func:`mdev_address_error` of every hostdev, in walk order."""
    found = (mdev_address_error(h) for h in domain.lists["hostdev"])
    return [e for e in found if e is not None]


# ---------------------------------------------------------------------------- USB controllers

_XHCI_MAX_PORTS = 15


def xhci_port_errors(domain: Domain) -> list[Problem]:
    """XHCI controllers with more ports than QEMU's 15, refused in the controllers' post-parse:
    after the disks' and hostdevs' (in the device walk), before any address is placed (so before
    a PCI double use)."""
    from virtaddr.passes.defaults import controller_model
    from virtaddr.passes.usb import controller_ports

    errors = []
    for c in domain.controllers("usb"):
        model = controller_model(c)
        if model in ("qemu-xhci", "nec-xhci") and controller_ports(c) > _XHCI_MAX_PORTS:
            message = f"'{model}' controller only supports up to '{_XHCI_MAX_PORTS}' ports"
            errors.append(c.error(message))
    return errors
