"""The PCI buses of a domain as libvirt models them, on top of the generic allocator.

Each bus (one per PCI controller index) is a pool ``{0}:{bus}:{minSlot..maxSlot}.{0..7}`` of the
PCI address space; the bus keeps libvirt's per-bus rules (accepted connect types, whether
automatic placement may use it) and which slots root ports have made *aggregate*.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Hashable

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.errors import Collision, OutOfPool
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
    """One bus: libvirt's rules for it and which functions of its slots are in use.

    ``used[slot]`` is a bit mask of the used functions (bit ``f`` for function ``f``);
    ``first_empty`` is a slot below which no slot is wholly empty (slots are only ever taken,
    never given back, during a pass); ``open_aggregate`` the aggregate slots, sorted, that
    still have a free function.
    """

    __slots__ = (
        "accepts",
        "aggregate",
        "empty_slots",
        "first_empty",
        "index",
        "model",
        "open_aggregate",
        "rules",
        "used",
    )

    def __init__(self, index: int, model: str, accepts: int | None = None) -> None:
        rules = BUS_MODELS[model]
        self.index = index
        self.model = model
        self.rules: BusModel = rules
        self.accepts = rules.accepts if accepts is None else accepts
        self.aggregate: set[int] = set()
        self.open_aggregate: list[int] = []
        self.empty_slots = rules.max_slot - rules.min_slot + 1
        self.first_empty = rules.min_slot
        self.used = [0] * (rules.max_slot + 1)


class PciBusSet:
    """The buses, their used functions, and libvirt's search for the next free address.

    A bus is 32 slots of 8 functions: a bit mask per slot holds its state, and the owners are
    kept per function. (The generic allocator, one pool per bus, cost more than the whole pass
    here: a domain with 200 PCIe devices has 200 buses, built twice.) Addresses are checked
    against :data:`_BUS_KIND` and the buses as a space of one pool per bus would: the same
    :class:`~virtaddr.errors.InvalidAddress`, :class:`~virtaddr.errors.OutOfPool` and
    :class:`~virtaddr.errors.Collision` errors and messages.
    """

    def __init__(self) -> None:
        self.buses: list[PciBus] = []
        self._owners: dict[PciAddr, Hashable] = {}
        # Per connect flags: buses before this one never match them (full or incompatible).
        self._skip: dict[int, int] = {}

    @property
    def nbuses(self) -> int:
        return len(self.buses)

    def add_bus(self, model: str, accepts: int | None = None) -> PciBus:
        bus = PciBus(len(self.buses), model, accepts)
        self.buses.append(bus)
        return bus

    # ---------------------------------------------------------------- state
    def slot_used(self, bus: int, slot: int) -> bool:
        if not 0 <= bus < len(self.buses):
            return False
        used = self.buses[bus].used
        return 0 <= slot < len(used) and used[slot] != 0

    def is_free(self, addr: PciAddr) -> bool:
        """Whether ``addr`` is on a bus, within its slots, and not in use."""
        domain, b, slot, function = _BUS_KIND.check(addr)
        if domain != 0 or b >= len(self.buses):
            return False
        bus = self.buses[b]
        if not bus.rules.min_slot <= slot <= bus.rules.max_slot:
            return False
        return not bus.used[slot] >> function & 1

    def owner(self, addr: PciAddr) -> Hashable | None:
        """Who reserved ``addr``, or ``None`` when it is free or on no bus."""
        return self._owners.get((addr[0], addr[1], addr[2], addr[3]))

    def reserve(self, addr: PciAddr, flags: int, owner: Hashable) -> None:
        """Reserve one function; raises Collision/OutOfPool/InvalidAddress."""
        a = _BUS_KIND.check(addr)
        domain, b, slot, function = a
        if domain != 0 or b >= len(self.buses):
            raise self._out_of_pool(a)
        bus = self.buses[b]
        if not bus.rules.min_slot <= slot <= bus.rules.max_slot:
            raise self._out_of_pool(a)
        if bus.used[slot] >> function & 1:
            owner_now = self._owners[(0, b, slot, function)]
            raise Collision(
                a,
                owner_now,
                f"{_BUS_KIND.name} address {_BUS_KIND.describe(a)} is already reserved "
                f"by {owner_now!r}",
            )
        self.reserve_free((0, b, slot, function), flags, owner)

    def reserve_free(self, addr: PciAddr, flags: int, owner: Hashable) -> None:
        """Reserve ``addr``, known to be free and on a bus (not checked again): an address
        :meth:`find_free` has just returned, or the first of a bus just added."""
        bus = self.buses[addr[1]]
        slot, function = addr[2], addr[3]
        used = bus.used[slot]
        if not used:
            bus.empty_slots -= 1
            if flags & AGGREGATE_SLOT:
                bus.aggregate.add(slot)
                insort(bus.open_aggregate, slot)
        used |= 1 << function
        bus.used[slot] = used
        if used == 0xFF and slot in bus.aggregate:
            bus.open_aggregate.remove(slot)
        self._owners[addr] = owner

    def fully_used(self) -> bool:
        """Whether every slot of every bus has at least one function in use."""
        return all(not b.empty_slots for b in self.buses)

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
        """libvirt's next-address search: first compatible bus, first usable slot.

        On each bus, in slot order, the first slot with no function in use, or (for a device
        that may share an aggregate slot) an aggregate slot with the function free. Buses
        that can never match ``flags`` again are skipped from then on: amortised O(1) per
        search plus the open aggregate slots of the buses it looks at.
        """
        aggregate = flags & AGGREGATE_SLOT
        want = function or 0
        buses = self.buses
        start = skip = self._skip.get(flags, 0)
        for i in range(start, len(buses)):
            bus = buses[i]
            if not (
                bus.empty_slots or (aggregate and bus.open_aggregate)
            ) or not self.compatible_auto(flags, bus):
                if i == skip:
                    skip += 1
                continue
            max_slot = bus.rules.max_slot
            empty = bus.first_empty
            used = bus.used
            while empty <= max_slot and used[empty]:
                empty += 1
            bus.first_empty = empty
            if aggregate:
                for slot in bus.open_aggregate:
                    if slot > empty:
                        break
                    mask = used[slot]
                    if not mask >> want & 1:
                        self._skip[flags] = skip
                        return (0, i, slot, want)
                    if function is None:
                        f = (~mask & (mask + 1)).bit_length() - 1  # the lowest clear bit
                        self._skip[flags] = skip
                        return (0, i, slot, f)
            if empty <= max_slot:
                self._skip[flags] = skip
                return (0, i, empty, want)
        self._skip[flags] = skip
        return None

    def reserve_at(self, addr: PciAddr, flags: int, owner: Hashable) -> str | None:
        """Reserve ``addr``; return libvirt's message when it is already used."""
        try:
            self.reserve(addr, flags, owner)
        except Collision:
            return "Attempted double use of PCI Address " + format_pci(addr)
        return None

    @staticmethod
    def _out_of_pool(addr: tuple[int, ...]) -> OutOfPool:
        return OutOfPool(f"{_BUS_KIND.name} address {_BUS_KIND.describe(addr)} is in no pool")


def format_pci(addr: PciAddr) -> str:
    return f"{addr[0]:04x}:{addr[1]:02x}:{addr[2]:02x}.{addr[3]:x}"
