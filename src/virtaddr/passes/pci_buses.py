"""The PCI buses of a domain as libvirt models them, on top of the generic allocator.

Each bus (one per PCI controller index) is a pool ``{0}:{bus}:{minSlot..maxSlot}.{0..7}`` of the
PCI address space; the bus keeps libvirt's per-bus rules (accepted connect types, whether
automatic placement may use it) and which slots root ports have made *aggregate*.
"""

from __future__ import annotations

from collections.abc import Hashable

from virtaddr.alloc import AddressSpace
from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.errors import Collision
from virtaddr.kinds import pci
from virtaddr.passes.pci_flags import (
    AGGREGATE_SLOT,
    AUTOASSIGN,
    BUS_MODELS,
    INTEGRATED,
    PCI_BRIDGE,
    PCI_DEVICE,
    PCIE_DEVICE,
    TYPES,
    BusModel,
)

PciAddr = tuple[int, int, int, int]

# libvirt's sizing pass adds buses past 255 before it finds that their controllers do not fit,
# so the bus numbers here are not bounded by those of an address (pci.KIND).
_BUS_KIND = AddressKind(
    "pci",
    (pci.KIND.fields[0], Field("bus", 0, 0xFFFF, hex_width=2), *pci.KIND.fields[2:]),
    format_address=pci.KIND.format_address,
)


class PciBus:
    __slots__ = ("accepts", "aggregate", "empty_slots", "index", "model", "rules")

    def __init__(self, index: int, model: str, accepts: int | None = None) -> None:
        self.index = index
        self.model = model
        self.rules: BusModel = BUS_MODELS[model]
        self.accepts = self.rules.accepts if accepts is None else accepts
        self.aggregate: set[int] = set()
        self.empty_slots = self.rules.max_slot - self.rules.min_slot + 1


class PciBusSet:
    """The buses, their used functions, and libvirt's search for the next free address."""

    def __init__(self) -> None:
        self.buses: list[PciBus] = []
        self.space = AddressSpace(_BUS_KIND)
        # Used functions per (bus, slot): the searches below ask this for every slot.
        self._used: dict[tuple[int, int], int] = {}

    @property
    def nbuses(self) -> int:
        return len(self.buses)

    def add_bus(self, model: str, accepts: int | None = None) -> PciBus:
        bus = PciBus(len(self.buses), model, accepts)
        r = bus.rules
        self.space.add_pool(
            [(0, 0), (bus.index, bus.index), (r.min_slot, r.max_slot), (0, 7)],
            name=f"bus {bus.index} ({model})",
            data=bus,
        )
        self.buses.append(bus)
        return bus

    # ---------------------------------------------------------------- state
    def slot_used(self, bus: int, slot: int) -> bool:
        return self._used.get((bus, slot), 0) > 0

    def is_free(self, addr: PciAddr) -> bool:
        return self.space.is_free(addr)

    def reserve(self, addr: PciAddr, flags: int, owner: Hashable) -> None:
        """Reserve one function; raises Collision/OutOfPool."""
        empty = not self.slot_used(addr[1], addr[2])
        self.space.reserve(addr, owner)
        self._used[addr[1], addr[2]] = self._used.get((addr[1], addr[2]), 0) + 1
        if empty:
            self.buses[addr[1]].empty_slots -= 1
        if empty and flags & AGGREGATE_SLOT:
            self.buses[addr[1]].aggregate.add(addr[2])

    def fully_used(self) -> bool:
        """Whether every slot of every bus has at least one function in use."""
        return all(
            self.slot_used(b.index, slot)
            for b in self.buses
            for slot in range(b.rules.min_slot, b.rules.max_slot + 1)
        )

    # ---------------------------------------------------------------- compatibility
    def compatible_auto(self, flags: int, bus: PciBus) -> bool:
        autoassign = bus.rules.autoassign
        if flags & INTEGRATED:
            if bus.index != 0:
                return False
            autoassign = True
        if flags & AUTOASSIGN and not autoassign:
            return False
        return bool(flags & bus.accepts & TYPES)

    def compatible_explicit(self, flags: int, bus: PciBus) -> bool:
        accepts = bus.accepts
        if accepts & (PCI_DEVICE | PCIE_DEVICE):
            accepts |= PCI_DEVICE | PCIE_DEVICE
        if flags & PCI_BRIDGE:
            flags |= PCI_DEVICE
        return bool(flags & accepts & TYPES)

    # ---------------------------------------------------------------- search
    def find_free(self, flags: int, function: int | None = None) -> PciAddr | None:
        """libvirt's next-address search: first compatible bus, first usable slot."""
        for bus in self.buses:
            if not self.compatible_auto(flags, bus):
                continue
            if not bus.empty_slots and not (flags & AGGREGATE_SLOT and bus.aggregate):
                continue
            r = bus.rules
            b = bus.index
            for slot in range(r.min_slot, r.max_slot + 1):
                nfree = 8 - self._used.get((b, slot), 0)
                if nfree == 8:
                    return (0, b, slot, function or 0)
                if nfree and flags & AGGREGATE_SLOT and slot in bus.aggregate:
                    want = function or 0
                    if self.space.is_free((0, b, slot, want)):
                        return (0, b, slot, want)
                    if function is None:
                        for f in range(8):
                            if self.space.is_free((0, b, slot, f)):
                                return (0, b, slot, f)
        return None

    def reserve_at(self, addr: PciAddr, flags: int, owner: Hashable) -> str | None:
        """Reserve ``addr``; return libvirt's message when it is already used."""
        try:
            self.reserve(addr, flags, owner)
        except Collision:
            return "Attempted double use of PCI Address " + format_pci(addr)
        return None


def format_pci(addr: PciAddr) -> str:
    return f"{addr[0]:04x}:{addr[1]:02x}:{addr[2]:02x}.{addr[3]:x}"
