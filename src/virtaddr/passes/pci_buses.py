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
    never given back, during a pass); ``open_aggregate`` the aggregate slots (those a root port
    took first), sorted, that still have a free function: ``None`` until the first one is taken,
    as most buses never have one (a pass builds hundreds of root-port buses).
    """

    __slots__ = (
        "accepts",
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
        self.open_aggregate: list[int] | None = None
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
        # Per function, by _owner_key: an int, not the address tuple, so that the hundreds of
        # reservations of a pass leave no container behind for the garbage collector to scan.
        self._owners: dict[int, Hashable] = {}
        # Per connect flags: buses before this one never match them (full or incompatible).
        self._skip: dict[int, int] = {}

    @property
    def nbuses(self) -> int:
        return len(self.buses)

    def add_bus(self, model: str, accepts: int | None = None) -> PciBus:
        bus = PciBus(len(self.buses), model, accepts)
        self.buses.append(bus)
        return bus

    def add_buses(self, models: list[str]) -> None:
        """One bus per model, in order (a pass builds hundreds at once)."""
        first = len(self.buses)
        self.buses += [PciBus(first + i, model) for i, model in enumerate(models)]

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
        domain, bus, slot, function = addr
        if domain != 0 or not 0 <= slot <= 0x1F or not 0 <= function <= 7:
            return None  # never reserved (and its key could be another address's)
        return self._owners.get(_owner_key(bus, slot, function))

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
            owner_now = self._owners[_owner_key(b, slot, function)]
            raise Collision(
                a,
                owner_now,
                f"{_BUS_KIND.name} address {_BUS_KIND.describe(a)} is already reserved "
                f"by {owner_now!r}",
            )
        self.reserve_free((0, b, slot, function), flags, owner)

    def reserve_free(self, addr: PciAddr, flags: int, owner: Hashable) -> None:
        """Reserve ``addr``, known to be free and on a bus (not checked again), such as the
        first address of a bus just added."""
        bus = self.buses[addr[1]]
        slot, function = addr[2], addr[3]
        used = bus.used
        mask = used[slot]
        if not mask:
            bus.empty_slots -= 1
            if flags & AGGREGATE_SLOT:
                if bus.open_aggregate is None:
                    bus.open_aggregate = [slot]
                else:
                    insort(bus.open_aggregate, slot)
        mask |= 1 << function
        used[slot] = mask
        if mask == 0xFF and bus.open_aggregate and slot in bus.open_aggregate:
            bus.open_aggregate.remove(slot)  # an aggregate slot just filled
        self._owners[bus.index << 8 | slot << 3 | function] = owner  # (_owner_key, inlined)

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
    def find_free(
        self, flags: int, function: int | None = None, *, owner: Hashable | None = None
    ) -> PciAddr | None:
        """libvirt's next-address search: first compatible bus, first usable slot; with
        ``owner``, the address found is also reserved for it.

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
            slot = empty if empty <= max_slot else -1
            f = want
            if aggregate and bus.open_aggregate:  # one before the first empty slot comes first
                for s in bus.open_aggregate:
                    if s > empty:
                        break
                    mask = used[s]
                    if not mask >> want & 1:
                        slot = s
                        break
                    if function is None:
                        slot, f = s, (~mask & (mask + 1)).bit_length() - 1  # lowest clear bit
                        break
            if slot >= 0:
                break
        else:
            self._skip[flags] = skip
            return None
        self._skip[flags] = skip
        if owner is not None:
            self.reserve_free((0, i, slot, f), flags, owner)
        return (0, i, slot, f)

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


def _owner_key(bus: int, slot: int, function: int) -> int:
    """One int per function of domain 0 (slot < 32, function < 8)."""
    return bus << 8 | slot << 3 | function


def format_pci(addr: PciAddr) -> str:
    return f"{addr[0]:04x}:{addr[1]:02x}:{addr[2]:02x}.{addr[3]:x}"
