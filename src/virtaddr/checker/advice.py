"""Warnings: what libvirt accepts but is likely a mistake or a trap. None of them is an error."""

from __future__ import annotations

from collections import Counter

from lxml import etree

from virtaddr.checker.explicit import ExplicitPass
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import WALK_ORDER, Domain
from virtaddr.libvirt.problems import WARNING, Problem
from virtaddr.passes.defaults import controller_model
from virtaddr.passes.pci_buses import PciAddr, format_pci
from virtaddr.passes.pci_flags import INTEGRATED, PCI_DEVICE, PCIE_DEVICE

__all__ = ["advice", "bus_gap_advice", "hotplug_advice", "misspelt_elements"]

_PCIE_PORTS = ("pcie-root-port", "pcie-switch-downstream-port")


def advice(explicit: ExplicitPass) -> list[Problem]:
    """Warnings about the explicit PCI addresses that ``explicit`` reserved."""
    out: list[Problem] = []
    domain = explicit.domain
    buses = explicit.pci_buses
    for dev, addr in explicit.pci_explicit:
        if dev.tag == "controller" or addr[1] >= buses.nbuses or _pinned(domain, dev, addr):
            continue
        flags = int(dev.pci_flags or PCI_DEVICE)
        bus = buses.buses[addr[1]]
        if flags & PCI_DEVICE and not flags & PCIE_DEVICE and bus.model in _PCIE_PORTS:
            out.append(
                _warn(
                    domain,
                    dev,
                    "pcie-port-conventional",
                    f"conventional PCI device on a PCI Express port ({bus.model} index "
                    f"{addr[1]}): libvirt accepts it but would put it behind a "
                    "pcie-to-pci-bridge",
                )
            )
        elif bus.model == "pcie-root" and not flags & INTEGRATED:
            out.append(
                _warn(
                    domain,
                    dev,
                    "pcie-root-endpoint",
                    f"device on pcie-root at {format_pci(addr)} is an integrated endpoint: it "
                    "cannot be hot-unplugged; libvirt would put it on a pcie-root-port",
                )
            )
        elif not buses.compatible_auto(flags, bus):
            out.append(
                _warn(
                    domain,
                    dev,
                    "unusual-bus",
                    f"libvirt would never place this device on {bus.model} index {addr[1]} "
                    f"({format_pci(addr)}) by itself",
                )
            )
    out.extend(_multifunction(explicit))
    return out


def _pinned(domain: Domain, dev: Device, addr: PciAddr) -> bool:
    """Places libvirt itself gives this device (the chipset's slots)."""
    q35 = domain.machine.is_q35
    videos = domain.lists["video"]
    if videos and dev is videos[0] and addr == ((0, 0, 1, 0) if q35 else (0, 0, 2, 0)):
        return True
    return q35 and dev.tag == "sound" and dev.get("model") == "ich9" and addr == (0, 0, 0x1B, 0)


def _multifunction(explicit: ExplicitPass) -> list[Problem]:
    domain = explicit.domain
    slots: dict[tuple[int, int, int], dict[int, Device]] = {}
    for dev, addr in explicit.pci_explicit:
        slots.setdefault(addr[:3], {})[addr[3]] = dev
    out: list[Problem] = []
    for slot, functions in slots.items():
        where = f"{slot[0]:04x}:{slot[1]:02x}:{slot[2]:02x}"
        first = functions[min(functions)]
        if 0 not in functions and explicit.pci_buses.is_free((*slot, 0)):
            out.append(
                _warn(
                    domain,
                    first,
                    "multifunction-no-function-0",
                    f"slot {where} has function {min(functions)} but no function 0: the guest "
                    "will not see the slot's devices",
                )
            )
        elif len(functions) > 1 and functions[0].addr.get("multifunction") == "off":
            out.append(
                _warn(
                    domain,
                    functions[0],
                    "multifunction-off",
                    f"multifunction='off' on function 0 of slot {where}, which has other "
                    "functions: QEMU will refuse to start the guest",
                )
            )
    return out


def hotplug_advice(assigned: etree._ElementTree, domain: Domain) -> list[Problem]:
    """q35: whether an empty pcie-root-port is left for a device hotplugged later."""
    if not domain.machine.is_q35:
        return []
    done = Domain(assigned, domain.source)
    for name in done.lists:
        for dev in done.lists[name]:
            dev.read_address()
    ports: dict[int, Device] = {}
    used: set[int] = set()
    for c in done.controllers("pci"):
        index = c.get("index")
        if controller_model(c) == "pcie-root-port" and index is not None and index.isdigit():
            ports[int(index)] = c
    for name in done.lists:
        for dev in done.lists[name]:
            if dev.pci is not None:
                used.add(dev.pci[1])
    if any(i not in used for i in ports):
        return []
    devices = domain.devices_elem
    line = devices.sourceline if devices is not None else None
    return [
        Problem(
            WARNING,
            "no empty pcie-root-port is left for hotplug: add "
            "<controller type='pci' model='pcie-root-port'/> to keep one free",
            line=line if isinstance(line, int) else None,
            device="devices",
            source=domain.source,
            code="q35-no-hotplug-port",
        )
    ]


def _warn(domain: Domain, dev: Device, code: str, message: str) -> Problem:
    return Problem(
        WARNING, message, line=dev.line, device=dev.describe(), source=domain.source, code=code
    )


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The elements of <devices>, and the child elements of its devices, in libvirt 9.0's and 11.3's
# RelaxNG schemas (domain.rng): libvirt's parser ignores any other element without a word.
_DEVICES = _words(
    "audio channel console controller crypto disk emulator filesystem graphics hostdev hub "
    "input interface iommu lease memballoon memory nvram panic parallel pstore redirdev "
    "redirfilter rng serial shmem smartcard sound tpm video vsock watchdog"
)
_DEVICE_CHILDREN = _words(
    "acpi address alias audio auth backend backenddomain backingStore bandwidth binary blockio "
    "boot certificate channel cid clipboard coalesce codec database downscript driver "
    "encryption filetransfer filterref geometry gl guest idmap image input iotune ip jpeg key "
    "link listen lockspace log mac master mirror model mouse msi mtu output path pcihole64 "
    "playback port portForward privateData product protocol rate readonly rom route script "
    "serial server settings shareable size source space_hard_limit space_soft_limit stats "
    "streaming target teaming throttlefilters transient tune usbdev uuid vendor virtualport "
    "vlan wwn zlib"
)


def misspelt_elements(domain: Domain) -> list[Problem]:
    """Elements one edit (a letter added, dropped, changed, or two swapped) away from a device
    or a device's child element: libvirt ignores an element it does not know, so a misspelt
    ``<adress>`` leaves the device to get an address of libvirt's choosing, and a misspelt
    device is no device at all. Elements in a namespace are someone else's: left alone."""
    devices = domain.devices_elem
    if devices is None:
        return []
    named: dict[int, Device] = {}
    for name in WALK_ORDER:  # an interface before the hostdev libvirt makes of it
        for d in domain.lists[name]:
            if d.elem is not None:
                named.setdefault(id(d.elem), d)
    out: list[Problem] = []
    for el in devices:
        tag = el.tag
        if tag.__class__ is not str or tag[0] == "{":
            continue
        if tag not in _DEVICES:
            out += _misspelt(domain, el, "devices", _DEVICES)
            continue
        dev = named.get(id(el))
        what = dev.describe() if dev is not None else tag
        for child in el:
            if child.tag.__class__ is str and child.tag[0] != "{":
                out += _misspelt(domain, child, what, _DEVICE_CHILDREN)
    return out


# What ignoring the element means, where it is worth saying.
_IGNORED = {
    "address": "the device gets an address of libvirt's choosing",
    "target": "the device loses its target",
}


def _misspelt(
    domain: Domain, el: etree._Element, device: str, known: frozenset[str]
) -> list[Problem]:
    name = str(el.tag)
    if name in known:
        return []
    near = sorted(k for k in known if _one_edit(name, k))
    if not near:
        return []
    what = "no such device" if known is _DEVICES else _IGNORED.get(near[0])
    message = f"unknown element <{name}>, did you mean <{near[0]}>? libvirt ignores it"
    line = el.sourceline if isinstance(el.sourceline, int) else None
    return [
        Problem(
            WARNING,
            f"{message}: {what}" if what else message,
            line=line,
            device=device,
            source=domain.source,
            code="misspelt-element",
        )
    ]


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter added, dropped, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long_[i]), len(short))
    return short[i:] == long_[i + 1 :]


def bus_gap_advice(assigned: etree._ElementTree, explicit: ExplicitPass) -> list[Problem]:
    """Explicit PCI bus numbers far above the buses the controllers declare: libvirt adds a
    controller for every bus number up to the one written (``bus='0x42'`` on q35: 66
    pcie-root-ports), and most stay empty. Warned when more than one would be left empty (one
    empty port is what a q35 guest keeps for hotplug anyway)."""
    domain = explicit.domain
    declared = explicit.pci_buses.nbuses
    far = [
        (dev, dev.pci[1])
        for dev in domain.walk()
        if dev.pci is not None and not dev.pci_wanted() and dev.pci[1] >= declared
    ]
    if not far:
        return []
    done = Domain(assigned, domain.source)
    added: dict[int, str] = {}
    for c in done.controllers("pci"):
        index = c.get("index")
        if index is not None and index.isdigit() and int(index) >= declared:
            added[int(index)] = controller_model(c) or "pci"
    used = set()
    for name in done.lists:
        for dev in done.lists[name]:
            dev.read_address()
            if dev.pci is not None:
                used.add(dev.pci[1])
    out = []
    for dev, bus in far:
        below = sorted(i for i in added if i <= bus)
        empty = [i for i in below if i not in used]
        if len(empty) < 2:
            continue
        models = Counter(added[i] for i in below)
        what = " and ".join(f"{n} {model}{'s' if n > 1 else ''}" for model, n in models.items())
        message = (
            f"bus {bus:#04x} is far above the last PCI bus the controllers declare "
            f"({declared - 1:#04x}): to reach it libvirt adds {what}, {len(empty)} of them "
            "left empty"
        )
        out.append(_warn(domain, dev, "far-bus", message))
    return out
