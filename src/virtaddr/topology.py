"""The PCI tree of an assigned domain and how much room it has left.

:func:`read_topology` builds the tree from a domain whose addresses are complete (each PCI
controller's index is a bus number, its own address is where it plugs in); :func:`assigned_topology`
runs the define-time pipeline first. The room "without changing the topology" counts empty slots
where libvirt's automatic placement would put a device; the room "with libvirt's growth" is
measured, not computed: devices are added to a copy and the real pass is run (largest count
that libvirt still accepts).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from virtaddr.errors import AddressError
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.passes.pci_flags import (
    BUS_MODELS,
    PCI_DEVICE,
    PCIE_DEVICE,
    TYPE_NAMES,
    TYPES,
)
from virtaddr.passes.versions import LibvirtRules
from virtaddr.xmldoc.names import local, namespace
from virtaddr.xmldoc.numbers import parse_uint

__all__ = [
    "Bus",
    "Growth",
    "Plugged",
    "Room",
    "Topology",
    "assigned_topology",
    "growth_room",
    "host_source",
    "read_topology",
]

PciAddr = tuple[int, int, int, int]

# Functions the chipset holds without a device element (libvirt reserves them too).
_CHIPSET = {
    "pc": {(0, 1, 0): "PIIX3 ISA bridge (chipset)", (0, 1, 3): "PIIX4 power management (chipset)"},
    "q35": {(0, 0x1F, 0): "ICH9 LPC bridge (chipset)", (0, 0x1F, 3): "ICH9 SMBus (chipset)"},
}
_ROOTS = ("pci-root", "pcie-root")
_GROWTH_LIMIT = 4096  # far past libvirt's own limits (about 700 on pc, 240 on q35)


@dataclass(frozen=True, slots=True)
class Plugged:
    """One function in use: a device, a PCI controller (``bus``: the bus it provides) or the
    chipset. ``host``: what a host device passes through (see :func:`host_source`)."""

    slot: int
    function: int
    name: str
    bus: int | None = None
    host: str | None = None


@dataclass(frozen=True, slots=True)
class Bus:
    """One PCI bus: the controller with that index, where it plugs in, what it accepts."""

    index: int
    model: str
    address: PciAddr | None  # the controller's own address (None for the root)
    accepts: tuple[str, ...]  # libvirt's connect type names
    hotplug: bool
    autoassign: bool  # whether libvirt's automatic placement uses it
    min_slot: int
    max_slot: int
    plugged: tuple[Plugged, ...]

    @property
    def slots(self) -> int:
        return self.max_slot - self.min_slot + 1

    @property
    def used_slots(self) -> int:
        return len({p.slot for p in self.plugged})

    @property
    def free_slots(self) -> int:
        return self.slots - self.used_slots


@dataclass(frozen=True, slots=True)
class Room:
    """How many more devices fit without changing the topology.

    ``pcie``: devices libvirt places as PCI Express (on q35: virtio, e1000e, PCI host devices;
    on pc every device is conventional, so this equals ``pci``); ``pci``: conventional PCI
    devices (e1000, rtl8139, ...); ``hotplug_*``: those of them in hotpluggable slots.
    """

    pcie: int
    pci: int
    hotplug_pcie: int
    hotplug_pci: int


@dataclass(frozen=True, slots=True)
class Growth:
    """How many more devices of each kind libvirt accepts at define time, growing the topology
    its own way (each count alone; ``at_least``: the search stopped at its limit)."""

    pcie: int
    pci: int
    at_least: bool = False


@dataclass(frozen=True, slots=True)
class Topology:
    machine: str  # the machine family: "pc", "q35", ...
    buses: tuple[Bus, ...]
    room: Room
    growth: Growth | None = None

    def bus(self, index: int) -> Bus | None:
        for b in self.buses:
            if b.index == index:
                return b
        return None


# ---------------------------------------------------------------------------- reading


def read_topology(tree: etree._ElementTree, *, source: str | None = None) -> Topology:
    """The PCI tree of a domain whose PCI addresses are already assigned."""
    domain = Domain(tree, source)
    machine = domain.machine.family
    controllers: dict[int, Device] = {}
    for c in domain.controllers("pci"):
        idx = _index(c)
        if idx is not None:
            controllers[idx] = c
    plugged: dict[int, list[Plugged]] = {}
    for (bus, slot, fn), name in _CHIPSET.get(machine, {}).items():
        plugged.setdefault(bus, []).append(Plugged(slot, fn, name))
    for d in domain.walk():
        a = d.pci
        if a is None or d.pci_wanted():
            continue
        child = None
        if d.tag == "controller" and d.get("type") == "pci":
            child = _index(d)
        plugged.setdefault(a[1], []).append(
            Plugged(a[2], a[3], _describe(d), child, host_source(d))
        )
    if 0 not in controllers:
        root_model = "pcie-root" if domain.machine.is_q35 else "pci-root"
    else:
        root_model = controllers[0].get("model") or "pci-root"
    buses = []
    for idx in sorted(set(controllers) | {0}):
        ctrl = controllers.get(idx)
        model = root_model if idx == 0 else (ctrl.get("model") if ctrl is not None else None)
        if model not in BUS_MODELS:
            continue
        rules = BUS_MODELS[model]
        hotplug = rules.hotplug and (ctrl is None or ctrl.child_get("target", "hotplug") != "off")
        buses.append(
            Bus(
                index=idx,
                model=model,
                address=ctrl.pci if ctrl is not None and idx else None,
                accepts=tuple(n for i, n in enumerate(TYPE_NAMES) if rules.accepts & (1 << i)),
                hotplug=hotplug,
                autoassign=rules.autoassign,
                min_slot=rules.min_slot,
                max_slot=rules.max_slot,
                plugged=tuple(sorted(plugged.get(idx, []), key=lambda p: (p.slot, p.function))),
            )
        )
    return Topology(machine, tuple(buses), _room(buses))


def assigned_topology(
    tree: etree._ElementTree,
    *,
    source: str | None = None,
    growth: bool = True,
    rules: LibvirtRules | None = None,
) -> tuple[Topology | None, list[AddressError]]:
    """Assign the domain's missing addresses (on a copy) and read its topology.

    Returns (None, errors) when libvirt would reject the domain. ``rules``: the libvirt
    version's (:mod:`virtaddr.passes.versions`; the newest when None).
    """
    from virtaddr.passes.pipeline import run_pipeline

    work = copy.deepcopy(tree)
    result = run_pipeline(work, source=source, rules=rules)
    if not result.ok:
        return None, result.errors
    topo = read_topology(work, source=source)
    if growth:
        room = growth_room(work, source=source, rules=rules)
        topo = Topology(topo.machine, topo.buses, topo.room, room)
    return topo, []


def _room(buses: list[Bus]) -> Room:
    pcie = pci = hot_pcie = hot_pci = 0
    for b in buses:
        rules = BUS_MODELS[b.model]
        accepts = rules.accepts & TYPES
        if not b.autoassign:
            continue
        free = b.free_slots
        if accepts & PCI_DEVICE:
            pci += free
            hot_pci += free if b.hotplug else 0
        if accepts & PCIE_DEVICE and b.index:
            pcie += free
            hot_pcie += free if b.hotplug else 0
    if not buses or buses[0].model != "pcie-root":  # no PCI Express: devices go conventional
        pcie, hot_pcie = pci, hot_pci
    return Room(pcie=pcie, pci=pci, hotplug_pcie=hot_pcie, hotplug_pci=hot_pci)


# ---------------------------------------------------------------------------- growth


def growth_room(
    tree: etree._ElementTree, *, source: str | None = None, rules: LibvirtRules | None = None
) -> Growth:
    """How many virtio NICs (PCIe on q35) and e1000 NICs (conventional) libvirt still accepts
    when added to this assigned domain, each kind alone: the largest count that defines."""
    pcie, capped_e = _largest(lambda n: _fits(tree, "virtio", n, source, rules))
    pci, capped_c = _largest(lambda n: _fits(tree, "e1000", n, source, rules))
    return Growth(pcie=pcie, pci=pci, at_least=capped_e or capped_c)


def _largest(fits: Callable[[int], bool]) -> tuple[int, bool]:
    """The largest n with fits(n) (fits(0) assumed, monotone); True when capped at the limit."""
    lo, hi = 0, 1
    while fits(hi):
        lo = hi
        if hi >= _GROWTH_LIMIT:
            return hi, True
        hi = min(hi * 4, _GROWTH_LIMIT)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo, False


def _fits(
    tree: etree._ElementTree, model: str, n: int, source: str | None, rules: LibvirtRules | None
) -> bool:
    from virtaddr.passes.pipeline import run_pipeline

    work = copy.deepcopy(tree)
    root = work.getroot()
    devices = next((c for c in root if local(c.tag) == "devices"), None)
    if devices is None:
        return False
    ns = namespace(root.tag)
    iface = f"{{{ns}}}interface" if ns else "interface"
    mtag = f"{{{ns}}}model" if ns else "model"
    for _ in range(n):
        el = etree.SubElement(devices, iface, type="user")
        etree.SubElement(el, mtag, type=model)
    return run_pipeline(work, source=source, rules=rules).ok


# ---------------------------------------------------------------------------- helpers


def _describe(d: Device) -> str:
    if d.tag == "controller" and d.get("type") == "pci":
        return d.get("model") or "pci controller"
    if d.tag == "controller":
        model = d.get("model")
        return f"controller {d.get('type')} {d.get('index', '0')}" + (
            f" ({model})" if model else ""
        )
    if d.tag == "interface":
        model = d.child_get("model", "type")
        return f"interface #{d.seq}" + (f" ({model})" if model else "")
    if d.tag in ("video", "sound", "memballoon", "rng", "watchdog"):
        model = d.child_get("model", "type") or d.get("model")
        return f"{d.tag}" + (f" ({model})" if model else "")
    return d.describe()


def host_source(d: Device) -> str | None:
    """The host side of a passed-through device, as a short text: a PCI host device's (or an
    SR-IOV ``<interface type='hostdev'>``'s) host address ``0000:06:12.5``, a mediated
    device's ``mdev UUID``, a vhost-scsi host's ``vhost WWPN``; None for other devices."""
    kind = d.get("type")
    if d.tag == "interface" and kind != "hostdev":
        return None
    if d.tag not in ("hostdev", "interface") or d.get("mode", "subsystem") != "subsystem":
        return None
    source = d.child("source")
    if source is None:
        return None
    if kind == "scsi_host":
        wwpn = source.get("wwpn")
        return f"{source.get('protocol', 'vhost')} {wwpn}" if wwpn else None
    address = next(
        (c for c in source if isinstance(c.tag, str) and local(c.tag) == "address"), None
    )
    if address is None:
        return None
    if kind == "mdev":
        uuid = address.get("uuid")
        return f"mdev {uuid}" if uuid else None
    # libvirt reads a host PCI address in any base; a missing field is 0
    fields: list[int] = []
    for name in ("domain", "bus", "slot", "function"):
        value = parse_uint(address.get(name, "0"))
        if value is None:
            return None
        fields.append(value)
    dom, bus, slot, fn = fields
    return f"{dom:04x}:{bus:02x}:{slot:02x}.{fn:x}"


def _index(controller: Device) -> int | None:
    """A controller's index as libvirt reads it (decimal only: ``010`` is 10)."""
    text = controller.get("index")
    return None if text is None else parse_uint(text, auto_base=False)


def slot_text(bus: int, slot: int, function: int) -> str:
    return f"{bus:02x}:{slot:02x}.{function:x}"
