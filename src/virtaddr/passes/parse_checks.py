"""What libvirt's parser refuses for a missing or unknown mandatory part, before any address.

libvirt parses the domain element first (its ``type`` attribute, ``<os><type>``), then the devices
one kind at a time in :data:`PARSE_ORDER`, each device whole (its own attributes before its
``<address>``): the first problem stops the define. :func:`parse_errors` gives that first problem,
counting the ``<address>`` problems :class:`~virtaddr.libvirt.domain.Domain` collected, so a bad
address of an earlier device still comes first.

A disk without ``<target dev>`` and a filesystem without ``<target dir>`` pass the parser: libvirt
refuses them in device validation, after every address is assigned
(:func:`missing_targets`, :func:`validation_order`). Every message is the live libvirt 9.0's,
without its category prefix (``XML error:``, ``internal error:``, ...).
"""

from __future__ import annotations

from typing import NamedTuple

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import WALK_ORDER, Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.versions import LibvirtRules
from virtaddr.xmldoc.names import local

__all__ = [
    "PARSE_ORDER",
    "device_parse_error",
    "every_parse_error",
    "missing_target",
    "missing_targets",
    "parse_errors",
    "validation_order",
]

PARSE_ORDER = (
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "parallel",
    "serial",
    "console",
    "channel",
    "input",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "watchdog",
    "memballoon",
    "rng",
    "tpm",
    "nvram",
    "hub",
    "redirdev",
    "redirfilter",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
)
_PARSE_RANK = {tag: n for n, tag in enumerate(PARSE_ORDER)}
_CONTROLLER_TYPES = frozenset(
    ("ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci", "xenbus", "isa")
)
# Each type's model names (libvirt 9.0's enums, each checked on the live daemon). A type that is
# absent has no model enum: any model is unknown. ISA's enum is not known here: not checked.
_CONTROLLER_MODELS: dict[str, frozenset[str]] = {
    "scsi": frozenset(
        [
            "auto",
            "buslogic",
            "lsilogic",
            "lsisas1068",
            "vmpvscsi",
            "ibmvscsi",
            "virtio-scsi",
            "lsisas1078",
            "virtio-transitional",
            "virtio-non-transitional",
            "ncr53c90",
            "am53c974",
            "dc390",
        ]
    ),
    "usb": frozenset(
        [
            "piix3-uhci",
            "piix4-uhci",
            "ehci",
            "ich9-ehci1",
            "ich9-uhci1",
            "ich9-uhci2",
            "ich9-uhci3",
            "vt82c686b-uhci",
            "pci-ohci",
            "nec-xhci",
            "qusb1",
            "qusb2",
            "qemu-xhci",
            "none",
        ]
    ),
    "ide": frozenset(("piix3", "piix4", "ich6")),
    "virtio-serial": frozenset(("virtio", "virtio-transitional", "virtio-non-transitional")),
    "pci": frozenset(
        [
            "pci-root",
            "pcie-root",
            "pci-bridge",
            "dmi-to-pci-bridge",
            "pcie-to-pci-bridge",
            "pcie-root-port",
            "pcie-switch-upstream-port",
            "pcie-switch-downstream-port",
            "pci-expander-bus",
            "pcie-expander-bus",
        ]
    ),
}
# The attribute each of these devices must have, and libvirt's message without it (libvirt 9.0's
# words; 11.3 reads watchdog and RNG models with its generic reader: :func:`_enum_table`).
_REQUIRED_ATTRIBUTE = {
    "input": ("type", "missing input device type"),
    "sound": ("model", "Missing required attribute 'model' in element 'sound'"),
    "watchdog": ("model", "watchdog must contain model name"),
    "rng": ("model", "missing RNG device model"),
}
_INVALID = "Invalid value for attribute '{attr}' in element '{element}': '{value}'."
_MISSING = "Missing required attribute '{attr}' in element '{element}'"
_CHAR_TARGET = "unknown target type '{value}' specified for character device"


class _Enum(NamedTuple):
    """An attribute libvirt's parser looks up in an enum: on the device (``child`` None) or on
    a child element, its known values, and the message for another value."""

    child: str | None
    attr: str
    values: frozenset[str]
    message: str = _INVALID


def _enum(child: str | None, attr: str, values: str, message: str = _INVALID) -> _Enum:
    return _Enum(child, attr, frozenset(values.split()), message)


_VIDEO_TYPE = _enum(
    "model",
    "type",
    "default vga cirrus vmvga xen vbox qxl parallels virtio gop none bochs ramfb",
    "unknown video model '{value}'",
)
# libvirt 9.0's enums (an empty video model type is the default one: 9.0 reads it as absent), in
# the order its parser reads each device's attributes (each list and
# message checked on the live daemon). What 11.3 knows more, or words otherwise, the rules say.
_ENUMS_9_0: dict[str, tuple[_Enum, ...]] = {
    "disk": (
        _enum(None, "type", "file block dir network volume nvme vhostuser"),
        _enum(None, "device", "disk cdrom floppy lun"),
        _enum(None, "model", "default virtio virtio-transitional virtio-non-transitional"),
    ),
    "interface": (
        _enum(
            None,
            "type",
            "user ethernet vhostuser server client mcast network bridge internal direct hostdev "
            "udp vdpa null vds",
        ),
    ),
    "filesystem": (_enum(None, "type", "mount block file template ram bind volume"),),
    "smartcard": (_enum(None, "mode", "host host-certificates passthrough"),),
    "serial": (
        _enum(
            "target",
            "type",
            "none isa-serial usb-serial pci-serial spapr-vio-serial system-serial sclp-serial "
            "isa-debug",
            _CHAR_TARGET,
        ),
    ),
    "console": (
        _enum("target", "type", "none serial xen uml virtio lxc openvz sclp sclplm", _CHAR_TARGET),
    ),
    "channel": (_enum("target", "type", "none guestfwd virtio xen", _CHAR_TARGET),),
    "input": (
        _enum(
            None,
            "type",
            "mouse tablet keyboard passthrough evdev",
            "unknown input device type '{value}'",
        ),
        _enum(None, "bus", "ps2 usb xen parallels none virtio", "unknown input bus type '{value}'"),
    ),
    "sound": (_enum(None, "model", "sb16 es1370 pcspk ac97 ich6 ich9 usb ich7"),),
    "video": (_VIDEO_TYPE._replace(values=_VIDEO_TYPE.values | {""}),),
    "watchdog": (
        _enum(None, "model", "i6300esb ib700 diag288", "unknown watchdog model '{value}'"),
    ),
    "memballoon": (
        _enum(None, "model", "virtio xen none virtio-transitional virtio-non-transitional"),
    ),
    "rng": (
        _enum(
            None,
            "model",
            "virtio virtio-transitional virtio-non-transitional",
            "unknown RNG model '{value}'",
        ),
    ),
    "tpm": (_enum(None, "model", "tpm-tis tpm-crb tpm-spapr spapr-tpm-proxy"),),
    "hub": (_enum(None, "type", "usb", "unknown hub device type '{value}'"),),
    "redirdev": (_enum(None, "bus", "usb", "unknown redirdev bus '{value}'"),),
    "panic": (
        _enum(None, "model", "default isa pseries hyperv s390", "unknown panic model '{value}'"),
    ),
    "shmem": (_enum("model", "type", "ivshmem ivshmem-plain ivshmem-doorbell"),),
    "memory": (_enum(None, "model", "dimm nvdimm virtio-pmem virtio-mem sgx-epc"),),
    "iommu": (_enum(None, "model", "intel smmuv3 virtio"),),
    "vsock": (_enum(None, "model", "default virtio virtio-transitional virtio-non-transitional"),),
}
# The enums libvirt 11.3 reads with its generic reader (virXMLPropEnum): another value is refused
# in _INVALID's words, an absent required one in _MISSING's.
_GENERIC_READER = frozenset({("watchdog", "model"), ("rng", "model"), ("video", "type")})
# A value each rule adds to an enum: (rule, device, attribute, value).
_ADDED_VALUES = (
    ("virtio_sound", "sound", "model", "virtio"),
    ("itco_watchdog_model", "watchdog", "model", "itco"),
    ("pvpanic", "panic", "model", "pvpanic"),
    ("vhostvdpa_disks", "disk", "type", "vhostvdpa"),
)
_TABLES: dict[
    tuple[bool, ...], tuple[dict[str, tuple[_Enum, ...]], dict[str, tuple[str, str]]]
] = {}


def _enum_table(
    rules: LibvirtRules,
) -> tuple[dict[str, tuple[_Enum, ...]], dict[str, tuple[str, str]]]:
    """The enums and required attributes of the libvirt version of ``rules`` (built once)."""
    key = (
        *(bool(getattr(rules, added[0])) for added in _ADDED_VALUES),
        rules.generic_enum_messages,
    )
    table = _TABLES.get(key)
    if table is not None:
        return table
    enums = dict(_ENUMS_9_0)
    required = dict(_REQUIRED_ATTRIBUTE)
    for rule, tag, attr, value in _ADDED_VALUES:
        if getattr(rules, rule):
            enums[tag] = tuple(
                e._replace(values=e.values | {value}) if e.attr == attr else e for e in enums[tag]
            )
    if rules.generic_enum_messages:
        for tag, attr in _GENERIC_READER:
            enums[tag] = tuple(
                e._replace(message=_INVALID, values=e.values - {""}) if e.attr == attr else e
                for e in enums[tag]
            )
            if tag in required:
                required[tag] = (attr, _MISSING.format(attr=attr, element=tag))
    _TABLES[key] = (enums, required)
    return enums, required


# libvirt reads a panic's address before its model.
_ADDRESS_FIRST = frozenset(("panic",))
_HOSTDEV_TYPES = {
    "subsystem": frozenset(("usb", "pci", "scsi", "scsi_host", "mdev")),
    "capabilities": frozenset(("storage", "misc", "net")),
}
_CHECKED = frozenset(("controller", "hostdev", *_REQUIRED_ATTRIBUTE, *_ENUMS_9_0))
_LIST = {"interface": "net"}  # the domain's list of each kind, where its name differs
_DISK_BUSES = frozenset(("ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd"))
# The kinds libvirt 9.0's parser takes one device of, at most: it counts them before parsing one.
_SINGLE = {
    "watchdog": "only a single watchdog device is supported",
    "iommu": "only a single IOMMU device is supported",
    "vsock": "only a single vsock device is supported",
}


def _single_kinds(rules: LibvirtRules) -> list[str]:
    """The device kinds the parser of ``rules``' version takes at most one of."""
    return [tag for tag in _SINGLE if not (rules.several_watchdogs and tag == "watchdog")]


def mtp_refusal(domain: Domain) -> list[Problem]:
    """libvirt 9.0's parser knows no mtp filesystem driver."""
    for fs in domain.lists["filesystem"]:
        if fs.child_get("driver", "type") == "mtp":
            return [fs.error("Invalid value for attribute 'type' in element 'driver': 'mtp'.")]
    return []


def parse_errors(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """The first problem the parser of the libvirt version of ``rules`` finds in the domain, or
    ``[]`` (then ``domain.problems`` holds the address problems, if any, as before)."""
    first = _domain_error(domain)
    if first is not None:
        return [first]
    if domain.devices_elem is None:
        return []
    # Is there anything to report? The domain's lists hold a device for each element of these
    # kinds (the domain is fresh: nothing added yet).
    lists = domain.lists
    counts = {tag: len(lists[tag]) for tag in _single_kinds(rules)}
    found = any(n > 1 for n in counts.values()) or any(
        dev.elem is not None and device_parse_error(dev, rules) is not None
        for tag in _CHECKED
        for dev in lists[_LIST.get(tag, tag)]
    )
    if not found:
        return []
    # Something to report: find the first problem in libvirt's order, addresses included.
    ranked: list[tuple[int, int, Device]] = []
    for n, el in enumerate(domain.devices_elem):
        if el.tag.__class__ is str:
            tag = local(el.tag)
            if tag in _PARSE_RANK:
                ranked.append((_PARSE_RANK[tag], n, domain.view(el)))
    from virtaddr.passes.validate import usb_disabled_error

    for _, _, dev in sorted(ranked, key=lambda item: item[:2]):
        if counts.get(dev.tag, 0) > 1:  # the kind is counted before any of its devices is parsed
            second = [d for _, _, d in ranked if d.tag == dev.tag][1]
            return [second.error(_SINGLE[dev.tag])]
        problems = dev.read_address(rules.address_without_type)
        if problems and dev.tag in _ADDRESS_FIRST:
            return problems[:1]
        error = device_parse_error(dev, rules) or usb_disabled_error(domain, dev)
        if error is not None:
            return [error]
        if problems:
            return problems[:1]
    return []  # pragma: no cover - the scan above found one


def _domain_error(domain: Domain) -> Problem | None:
    root = domain.root
    if root.get("type") is None:
        return domain.error("missing domain type attribute", _line(root))
    os_type = domain._find(root, "os", "type")
    if os_type is None:
        return domain.error("an os <type> must be specified", _line(root))
    return None


def device_parse_error(dev: Device, rules: LibvirtRules) -> Problem | None:
    """What the parser of the libvirt version of ``rules`` refuses in the device's own
    attributes (its address aside)."""
    tag = dev.tag
    if tag == "controller":
        return _controller_error(dev)
    if tag == "hostdev":
        return _hostdev_error(dev, rules.generic_enum_messages)
    enums, required = _enum_table(rules)
    needed = required.get(tag)
    if needed is not None and dev.get(needed[0]) is None:
        return dev.error(needed[1])
    for child, attr, values, message in enums.get(tag, ()):
        value = dev.get(attr) if child is None else dev.child_get(child, attr)
        if value is not None and value not in values:
            element = tag if child is None else child
            return dev.error(message.format(attr=attr, element=element, value=value))
    if tag == "disk":
        bus = dev.child_get("target", "bus")
        if bus is not None and bus not in _DISK_BUSES:
            return dev.error(f"Invalid value for attribute 'bus' in element 'target': '{bus}'.")
    return None


def _hostdev_error(dev: Device, generic: bool) -> Problem | None:
    """A hostdev's mode, then its type (``generic``: libvirt 11.3's generic reader's words)."""
    mode = dev.get("mode") or "subsystem"
    types = _HOSTDEV_TYPES.get(mode)
    if types is None:
        if generic:
            return dev.error(_INVALID.format(attr="mode", element="hostdev", value=mode))
        return dev.error(f"unknown hostdev mode '{mode}'")
    htype = dev.get("type")
    if htype is None:
        if generic:
            return dev.error(_MISSING.format(attr="type", element="hostdev"))
        return dev.error("missing source address type")
    if htype not in types:
        if generic:
            return dev.error(_INVALID.format(attr="type", element="hostdev", value=htype))
        return dev.error(f"unknown host device source address type '{htype}'")
    return None


def _controller_error(dev: Device) -> Problem | None:
    ctype = dev.get("type")
    if ctype is not None and ctype not in _CONTROLLER_TYPES:
        return dev.error(f"Invalid value for attribute 'type' in element 'controller': '{ctype}'.")
    model = dev.get("model")
    ctype = ctype or "ide"
    if model is not None and ctype != "isa" and model not in _CONTROLLER_MODELS.get(ctype, ()):
        return dev.error(f"Unknown model type '{model}'")
    return None


def default_controller_types(domain: Domain) -> None:
    """A ``<controller>`` without ``type`` is an IDE controller: libvirt stores ``type='ide'``."""
    for c in domain.lists["controller"]:
        if c.elem is not None and c.elem.get("type") is None:
            c.elem.set("type", "ide")


# ---------------------------------------------------------------------------- validation


def missing_target(dev: Device) -> Problem | None:
    """libvirt's validation of a disk without ``<target dev>`` or a filesystem without
    ``<target dir>``: the message names the device by its source."""
    if dev.tag == "disk":
        if dev.child_get("target", "dev") is not None:
            return None
        source = dev.child("source")
        pool = source.get("pool") if source is not None else None
        if source is not None and pool is not None:
            return dev.error(
                f"missing target information for device pool = '{pool}', "
                f"volume = '{source.get('volume')}'"
            )
        return dev.error(_target_message(source, ("file", "dev", "dir", "name")))
    if dev.tag == "filesystem" and dev.child_get("target", "dir") is None:
        return dev.error(_target_message(dev.child("source"), ("dir", "file", "name", "dev")))
    return None


def _target_message(source: object, names: tuple[str, ...]) -> str:
    from lxml import etree

    if isinstance(source, etree._Element):
        for name in names:
            value = source.get(name)
            if value is not None:
                return f"missing target information for device {value}"
    return "missing target information for device"


def missing_targets(domain: Domain) -> list[Problem]:
    """Every disk and filesystem validation refuses for a missing target, in walk order."""
    errors = []
    for name, attr in (("disk", "dev"), ("filesystem", "dir")):
        for dev in domain.lists[name]:
            if dev.child_get("target", attr) is None:  # rare: most devices skip the call
                error = missing_target(dev)
                if error is not None:
                    errors.append(error)
    return errors


def validation_order(misfits: list[Problem], targets: list[Problem]) -> list[Problem]:
    """Device validation's problems in libvirt's device-walk order (the driver's checks of a
    device before the generic ones): ``misfits`` and ``targets`` are each in walk order."""
    if not targets:
        return misfits
    rank = {("interface" if tag == "net" else tag): n for n, tag in enumerate(WALK_ORDER)}

    def key(item: tuple[int, Problem]) -> tuple[int, int]:
        kind, error = item
        tag = (error.device or "").split(" ", 1)[0]
        return rank.get(tag, len(rank)), kind

    tagged = [(0, e) for e in misfits] + [(1, e) for e in targets]
    return [e for _, e in sorted(tagged, key=key)]


def _line(el: object) -> int | None:
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def every_parse_error(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """Every problem :func:`parse_errors` looks for, not only the first (for ``check``);
    address problems aside, which ``domain.problems`` holds."""
    from virtaddr.passes.validate import usb_disabled_error

    errors = []
    first = _domain_error(domain)
    if first is not None:
        errors.append(first)
    for tag in _single_kinds(rules):
        if len(domain.lists[tag]) > 1:  # the kind is counted before its devices are parsed
            errors.append(domain.lists[tag][1].error(_SINGLE[tag]))
    for name in domain.lists:
        for dev in domain.lists[name]:
            if dev.elem is not None:
                error = (
                    device_parse_error(dev, rules)
                    or usb_disabled_error(domain, dev)
                    or missing_target(dev)
                )
                if error is not None:
                    errors.append(error)
    return errors
