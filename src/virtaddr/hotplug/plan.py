"""Hotplug planning: a domain's persistent configuration after ``attach-device --config``.

libvirt's attach (rules §16) parses the device with define's defaults, runs a few checks of its
own, inserts the device into its list (disks sorted by bus and name index, controllers by type and
index, everything else appended) and re-runs define's stages 2-6 on the whole domain, where every
stored address counts as explicit and never moves; whole-domain validation is skipped. Detach
removes the matching device and re-runs the same stages: its addresses are simply freed.

The domain given is first defined as libvirt would define it (libvirt attaches to what it stored),
then the devices are attached (or detached) one at a time, in order. The first problem stops
everything, as it does in libvirt, and nothing is to be written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from virtaddr.errors import UnusableInput
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.machine import PPC64_ARCHES, S390_ARCHES, X86_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes import defaults, parse_checks, writeback
from virtaddr.passes.defaults import disk_bus, input_bus, parse_controller_index
from virtaddr.passes.drive import drive_address_from_name
from virtaddr.passes.pipeline import rerun_stages, run_pipeline
from virtaddr.passes.result import AssignResult
from virtaddr.passes.versions import LibvirtRules, rules_for
from virtaddr.xmldoc.names import local
from virtaddr.xmldoc.xmledit import insert_element, insert_next_to, remove_element
from virtaddr.xmldoc.xmlio import parse_root, read_input, safe_parser

__all__ = ["DeviceInput", "attach_devices", "detach_devices", "parse_device", "read_device"]

# Devices the QEMU driver refuses to attach to (or detach from) the persistent configuration.
_NOT_ATTACHABLE = frozenset(
    {
        "video",
        "hub",
        "graphics",
        "memballoon",
        "nvram",
        "tpm",
        "panic",
        "iommu",
        "audio",
        "smartcard",
    }
)
_NOT_DETACHABLE = _NOT_ATTACHABLE
_DEVICE_TAGS = frozenset(writeback.DEVICE_ORDER) - {"emulator"}
# PCI controller models and the options per-device validation wants spelled out (rules §16.2).
_REQUIRED_TARGET = {
    "pcie-root-port": ("chassis", "port"),
    "pci-bridge": ("chassisNr",),
    "pcie-switch-downstream-port": ("chassis", "port"),
    "pci-expander-bus": ("busNr",),
    "pcie-expander-bus": ("busNr",),
}
_ROOT_MODELS = ("pci-root", "pcie-root")
# The kinds attach takes one of, and what it says of a second.
_ONE_ONLY = {
    "watchdog": "domain already has a watchdog",
    "vsock": "domain already has a vsock device",
}


@dataclass(frozen=True, slots=True)
class DeviceInput:
    """One DEVICE.xml: its element (detached from any document) and where it came from."""

    element: etree._Element
    source: str


def parse_device(data: bytes, source: str) -> DeviceInput:
    """Parse the text of one device element (``<disk>``, ``<interface>``, ...).

    Raises :class:`UnusableInput` for XML that is not well-formed or a root element that is not
    a device libvirt knows.
    """
    root = parse_root(data, source, "a device element such as <disk>")
    tag = local(root.tag)
    if tag not in _DEVICE_TAGS:
        raise UnusableInput(
            f"the root element is <{tag or root.tag}>, not a device element such as <disk>",
            line=root.sourceline if isinstance(root.sourceline, int) else None,
            source=source,
        )
    return DeviceInput(root, source)


def read_device(path: str) -> DeviceInput:
    """Read and parse the device XML file at ``path`` (see :func:`parse_device`).

    Raises :class:`UnusableInput` when it cannot be read or used.
    """
    data, source = read_input(path)
    return parse_device(data, source)


def attach_devices(
    tree: etree._ElementTree,
    devices: Sequence[DeviceInput],
    *,
    source: str | None = None,
    rules: LibvirtRules | None = None,
) -> AssignResult:
    """The domain in ``tree`` after attaching ``devices`` in order, as ``attach-device --config``.

    ``tree`` is modified in place. The problems of an attach name the DEVICE.xml (its
    ``source``); a problem of the domain as given names ``source``. ``rules``: the libvirt version's
    (:mod:`virtaddr.passes.versions`; the newest when None).
    """
    return _run(tree, devices, source, _attach_one, rules)


def detach_devices(
    tree: etree._ElementTree,
    devices: Sequence[DeviceInput],
    *,
    source: str | None = None,
    rules: LibvirtRules | None = None,
) -> AssignResult:
    """The domain in ``tree`` after detaching ``devices`` in order (``detach-device --config``)."""
    return _run(tree, devices, source, _detach_one, rules)


# ---------------------------------------------------------------------------- driver


def _run(
    tree: etree._ElementTree,
    devices: Sequence[DeviceInput],
    source: str | None,
    step: Callable[[etree._ElementTree, DeviceInput, LibvirtRules | None], list[Problem]],
    rules: LibvirtRules | None,
) -> AssignResult:
    defined = run_pipeline(tree, source=source, rules=rules)
    if not defined.ok:
        return defined
    for device in devices:
        problems = step(tree, device, rules)
        if problems:
            return AssignResult(tree, problems)
    return AssignResult(tree, [])


def _stored_domain(tree: etree._ElementTree, device: DeviceInput) -> Domain:
    """The domain as stored so far, for attaching or detaching ``device``: what goes wrong is
    reported against the device's file, at no line (the domain's lines are neither file's once
    a device was attached or detached)."""
    return Domain(tree, device.source, lines_known=False)


def _reparse_check(domain: Domain) -> list[Problem]:
    """The parse-time checks libvirt runs on the stored domain before each attach or detach.

    libvirt works on a copy of the persistent definition made by formatting and parsing it
    again, so what an earlier attach stored past define's checks (a USB controller next to
    ``model='none'``) makes every later attach or detach fail. Reads the controllers' indexes.
    """
    return defaults.read_controller_indexes(domain) or defaults.check_duplicate_indexes(domain)


def _rerun(
    tree: etree._ElementTree, device: DeviceInput, rules: LibvirtRules | None
) -> list[Problem]:
    domain = _stored_domain(tree, device)
    problems = rerun_stages(domain, rules)
    if not problems:
        writeback.write_back(domain)
    return problems


def _as_written(device: DeviceInput) -> Device:
    """The device as its file has it: problems found in it point into that file."""
    return Device(local(device.element.tag), device.element, device.source)


def _parse_problems(
    device: DeviceInput, parsed: Device, rules: LibvirtRules | None
) -> list[Problem]:
    """What libvirt's device parser rejects in ``parsed`` (the device as its file has it, see
    :func:`_as_written`), before any attach or detach check: a controller's bad ``index``, then
    a bad ``<address>``. Sets ``parsed.index`` for a controller."""
    if parsed.tag == "controller":
        parsed.index, message = parse_controller_index(parsed.get("index"))
        if message is not None:
            return _failure(device, message)
    refused = parse_checks.device_parse_error(parsed, rules or rules_for())
    if refused is not None:
        return _failure(device, refused.message)
    return parsed.read_address((rules or rules_for()).address_without_type)


def _opened(
    tree: etree._ElementTree, device: DeviceInput, rules: LibvirtRules | None
) -> tuple[Domain, Device, list[Problem]]:
    """The stored domain, the device as its file has it, and what libvirt refuses before an
    attach or a detach looks at either: the stored domain as re-parsed, then the device."""
    domain = _stored_domain(tree, device)
    parsed = _as_written(device)
    return domain, parsed, _reparse_check(domain) or _parse_problems(device, parsed, rules)


def _failure(device: DeviceInput, message: str) -> list[Problem]:
    """libvirt's refusal of ``device``, named as written (a controller by its index attribute)."""
    return [_as_written(device).error(message)]


# ---------------------------------------------------------------------------- attach


def _attach_one(
    tree: etree._ElementTree, device: DeviceInput, rules: LibvirtRules | None
) -> list[Problem]:
    domain, parsed, problems = _opened(tree, device, rules)
    if problems:
        return problems
    tag = parsed.tag
    new = Device(tag, _copy_for_insertion(device.element), device.source, lines_known=False)
    new.index = parsed.index
    new.addr_type, new.addr = parsed.addr_type, parsed.addr
    refused = parse_checks.missing_target(new)  # the attached device is validated at parse
    if refused is not None:
        return _failure(device, refused.message)
    message = _device_validation(domain, new) or _usb_compatibility(domain, new)
    if message:
        return _failure(device, message)
    if tag in _NOT_ATTACHABLE:
        return _failure(
            device, f"Operation not supported: persistent attach of device '{tag}' is not supported"
        )
    message = _attach_check(domain, new, rules or rules_for())
    if message:
        return _failure(device, message)
    _insert(domain, new)
    return _rerun(tree, device, rules)


def _device_validation(domain: Domain, new: Device) -> str | None:
    """What QEMU's validation of the parsed device alone refuses: an NVRAM device off PPC64, and
    any video device but QXL, virtio or 'none' (an attached one is never the primary one)."""
    arch = domain.machine.arch
    if new.tag == "nvram" and arch not in PPC64_ARCHES:
        return "unsupported configuration: nvram device is only supported for PPC64"
    if new.tag == "video":
        vtype = new.child_get("model", "type")
        if vtype is None:  # the device parser's default
            vtype = "cirrus" if arch in X86_ARCHES else None
        if vtype is not None and vtype not in ("qxl", "virtio", "none"):
            return (
                f"unsupported configuration: video type '{vtype}' is only valid as primary video "
                "device"
            )
    return None


def _usb_compatibility(domain: Domain, new: Device) -> str | None:
    """A USB disk, input, host device or hub when no USB controller has a model but 'none'."""
    if any(c.get("model") != "none" for c in domain.controllers("usb")):
        return None
    tag = new.tag
    if tag == "disk":
        usb = disk_bus(new) == "usb"
    elif tag == "input":
        usb = input_bus(new, domain.machine.arch) == "usb"
    elif tag == "hostdev":
        usb = new.get("mode", "subsystem") == "subsystem" and new.get("type") == "usb"
    else:
        usb = tag == "hub" and new.get("type") == "usb"
    if not usb:
        return None
    return (
        "unsupported configuration: Device configuration is not compatible: "
        "Domain has no USB bus support"
    )


def _attach_check(domain: Domain, new: Device, rules: LibvirtRules) -> str | None:
    """libvirt's attach-only checks for ``new`` against the stored domain (rules §16.2)."""
    if new.tag == "watchdog" and rules.several_watchdogs:
        return _watchdog_check(domain, new)
    if new.tag in _ONE_ONLY and domain.lists[new.tag]:
        return f"Requested operation is not valid: {_ONE_ONLY[new.tag]}"
    console = new.tag == "console" and new.child_get("target", "type") in (None, "serial")
    if console and domain.machine.arch not in S390_ARCHES:  # s390's default target is sclp
        return "Operation not supported: attaching serial console is not supported"
    if new.tag == "disk":
        name = new.child_get("target", "dev")
        for d in domain.lists["disk"]:
            if name is not None and d.child_get("target", "dev") == name:
                return f"Requested operation is not valid: target {name} already exists"
        new.bus = disk_bus(new)
        if new.bus == "scsi":
            return _scsi_address_in_use(domain, new)
    elif new.tag == "controller":
        return _controller_check(domain, new)
    elif new.tag == "memory":
        return _memory_slot_check(domain)
    return None


def _watchdog_check(domain: Domain, new: Device) -> str | None:
    """Where a domain may have several watchdogs (libvirt 11.3): not one equal to a stored one
    (model, action and, when given, address), nor a second of a model other than i6300esb."""
    model, action = new.get("model"), new.get("action") or "reset"
    for w in domain.lists["watchdog"]:
        address = new.addr_type is None or (w.addr_type, w.addr) == (new.addr_type, new.addr)
        if w.get("model") == model and (w.get("action") or "reset") == action and address:
            return "Requested operation is not valid: device is already in the domain configuration"
    if model != "i6300esb" and any(w.get("model") == model for w in domain.lists["watchdog"]):
        return (
            "Requested operation is not valid: "
            f"domain can only have one watchdog with model '{model}'"
        )
    return None


def _memory_slot_check(domain: Domain) -> str | None:
    """Attach refuses a memory device when every ``<maxMemory slots>`` is counted already
    (define's message for the same case is another: 'failed to find an empty memory slot')."""
    max_memory = domain._find(domain.root, "maxMemory")
    text = max_memory.get("slots", "") if max_memory is not None else ""
    if text.isdigit() and len(domain.lists["memory"]) >= int(text):
        return "unsupported configuration: no free memory device slot available"
    return None


def _scsi_address_in_use(domain: Domain, new: Device) -> str | None:
    probe = Device("disk", new.elem)
    probe.read_address()
    probe.bus = "scsi"
    if drive_address_from_name(probe) is not None or probe.addr_type != "drive":
        return None
    key = _drive_key(probe)
    for d in domain.lists["disk"]:
        if disk_bus(d) == "scsi" and d.addr_type == "drive" and _drive_key(d) == key:
            return (
                "Requested operation is not valid: Domain already contains a disk with that address"
            )
    return None


def _drive_key(d: Device) -> tuple[int, int, int, int]:
    a = d.addr
    return (a.get("controller", 0), a.get("bus", 0), a.get("target", 0), a.get("unit", 0))


def _controller_check(domain: Domain, new: Device) -> str | None:
    ctype, index = new.get("type") or "ide", new.index
    if index != -1 and domain.controller(ctype, index) is not None:
        return f"Requested operation is not valid: controller index='{index}' already exists"
    if ctype == "ide":  # the device's validation: define's machine checks (other.py)
        if domain.machine.is_q35:
            return (
                "unsupported configuration: IDE controllers are unsupported for this QEMU binary "
                "or machine type"
            )
        if index != 0:
            return (
                "unsupported configuration: Only a single IDE controller is supported for this "
                "machine type"
            )
    model = new.get("model")
    if ctype != "pci" or model is None or model in _ROOT_MODELS:
        return None
    model_name = new.child_get("model", "name")
    where = f"for PCI controller with index '{index}', model '{model}' and modelName"
    if model_name is None:
        return f"internal error: Required option 'modelName' is not set {where} 'none'"
    for option in _REQUIRED_TARGET.get(model, ()):
        if new.child_get("target", option) is None:
            return f"internal error: Required option '{option}' is not set {where} '{model_name}'"
    return None


def _insert(domain: Domain, new: Device) -> None:
    """Put ``new``'s element where libvirt's list order puts it, else after its kind."""
    devices = domain.devices_elem
    if devices is None:
        devices = insert_element(domain.root, etree.Element(_qualify(domain, "devices")))
        domain.devices_elem = devices
    element = new.elem
    assert element is not None
    neighbours: list[Device] = []
    if new.tag == "disk":
        neighbours = domain.lists["disk"]
        domain.insert_disk(new)
    elif new.tag == "controller":
        neighbours = domain.lists["controller"]
        domain.insert_controller(new)
    if neighbours:
        pos = neighbours.index(new)
        before = [d.elem for d in neighbours[:pos] if d.elem is not None]
        after = [d.elem for d in neighbours[pos + 1 :] if d.elem is not None]
        if before:
            insert_next_to(before[-1], element, after=True)
            return
        if after:
            insert_next_to(after[0], element, after=False)
            return
    order = writeback.DEVICE_ORDER
    names = tuple(reversed(order[: order.index(new.tag) + 1]))
    insert_element(devices, element, after=names)


def _copy_for_insertion(element: etree._Element) -> etree._Element:
    """A copy of the device element without its own layout (it takes the domain's)."""
    copy = etree.fromstring(etree.tostring(element), safe_parser())
    for el in copy.iter():
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    copy.tail = None
    return copy


def _qualify(domain: Domain, name: str) -> str:
    return f"{{{domain.ns}}}{name}" if domain.ns else name


# ---------------------------------------------------------------------------- detach


def _detach_one(
    tree: etree._ElementTree, device: DeviceInput, rules: LibvirtRules | None
) -> list[Problem]:
    domain, wanted, problems = _opened(tree, device, rules)
    if problems:
        return problems
    tag = wanted.tag
    if tag in _NOT_DETACHABLE:
        return _failure(
            device, f"Operation not supported: persistent detach of device '{tag}' is not supported"
        )
    found, message = _find_match(domain, wanted)
    if found is None or found.elem is None:
        return _failure(device, message)
    remove_element(found.elem)
    return _rerun(tree, device, rules)


def _find_match(domain: Domain, wanted: Device) -> tuple[Device | None, str]:
    """The stored device ``wanted`` designates (rules §16.5), or None and libvirt's message."""
    tag = wanted.tag
    not_present = "device not found: device not present in domain configuration"
    if tag == "disk":
        name = wanted.child_get("target", "dev")
        for d in domain.lists["disk"]:
            if d.child_get("target", "dev") == name:
                return d, ""
        return None, f"device not found: no target device {name}"
    if tag == "interface":
        mac = wanted.child_get("mac", "address")
        for n in [*domain.lists["net"], *domain.lists["hostdev"]]:
            if n.tag != "interface":
                continue
            if mac is not None and (n.child_get("mac", "address") or "").lower() == mac.lower():
                return n, ""
        shown = mac if mac is not None else "(<null>)"
        return None, (
            "device not found: no device found at address '(<null>)' matching MAC address "
            f"'{shown}' and alias '(<null>)'"
        )
    if tag == "controller":
        index = wanted.index
        found = domain.controller(wanted.get("type") or "", index) if index != -1 else None
        return found, "" if found is not None else not_present
    if tag in ("channel", "console", "serial", "parallel"):
        target = (wanted.child_get("target", "type"), wanted.child_get("target", "name"))
        for c in domain.lists[tag]:
            if (c.child_get("target", "type"), c.child_get("target", "name")) == target:
                return c, ""
        return None, "invalid argument: device not present in domain configuration"
    if tag == "input":
        key = (wanted.get("type"), wanted.get("bus"))
        for i in domain.lists["input"]:
            if (i.get("type"), i.get("bus")) == key:
                return i, ""
        return None, "device not found: matching input device not found"
    for d in domain.lists.get(tag, []):
        if d.tag == tag and d.get("model") == wanted.get("model"):
            return d, ""
    return None, not_present
