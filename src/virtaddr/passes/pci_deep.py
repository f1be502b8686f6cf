"""``--grow deep``: a PCI topology past libvirt's limits, which libvirt then keeps as it is.

libvirt grows pci-bridges only where its first pass can plug them and root ports only on the
root complex, so it gives up near 700 devices on pc and 240 on q35. The deep strategy replaces
only the sizing pass (libvirt's dry run): it counts what must be placed, adds the controllers of
a deeper topology, and checks by simulating libvirt's own final placement that everything fits
(adding a bridge or giving up a PCIe port and retrying when not). The final placement is then
libvirt's, on that topology; the one change is that a PCI Express device finding no free port
takes a conventional slot, which libvirt accepts as an explicit address. Where things go:

- conventional PCI devices (and, on q35, PCIe devices beyond the ports the bus numbers allow):
  pci-bridges nested first-fit, each one bus number for 31 slots (30 net, one plugs the next);
  on q35 they hang behind one pcie-to-pci-bridge in a root port;
- PCI Express devices (q35): one port each, as long as bus numbers remain after the bridges the
  rest needs: pcie-root-ports on free root-complex functions, then switches (an upstream port in
  a root port, up to 32 downstream ports, one device each).

One PCI domain has 256 bus numbers and libvirt allows controller indexes up to 255; a port
costs a bus number per device, a bridge 1/30, so PCIe devices move to bridges once the numbers
run short.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import add_controller, controller_model
from virtaddr.passes.pci import PciPass
from virtaddr.passes.pci_buses import PciAddr
from virtaddr.passes.pci_flags import (
    AUTOASSIGN,
    CONTROLLER_FLAGS,
    DMI_TO_PCI,
    INTEGRATED,
    PCI_BRIDGE,
    PCI_DEVICE,
    PCIE_DEVICE,
    PCIE_EXPANDER,
    PCIE_TO_PCI,
    ROOT_PORT,
    UPSTREAM_PORT,
)
from virtaddr.passes.versions import LibvirtRules

__all__ = ["DeepPciPass", "assign_pci_addresses_deep"]

MAX_INDEX = 255  # libvirt: "PCI controller index N too high, maximum is 255"
_BRIDGE_SLOTS = 31
_SWITCH_PORTS = 32
_RETRIES = 64


def assign_pci_addresses_deep(domain: Domain, rules: LibvirtRules | None = None) -> list[Problem]:
    return DeepPciPass(domain, rules).run()


class _Shortage(Exception):
    """The simulated final placement found no room for a device with these flags."""

    def __init__(self, flags: int) -> None:
        super().__init__(flags)
        self.flags = flags


@dataclass(frozen=True, slots=True)
class _Demand:
    """What the automatic placement needs, and what the buses already offer."""

    conventional: int  # devices and bridges that need a conventional slot
    express: int  # PCI Express devices (q35), a port each if bus numbers allow
    free_slots: int  # empty conventional slots on buses open to automatic placement
    free_ports: int  # empty PCIe ports (root or downstream) after unplaced controllers
    root_functions: int  # root-complex functions left for new root ports
    has_conventional_bus: bool


@dataclass(frozen=True, slots=True)
class _Layout:
    root_ports: int
    pcie_to_pci: int
    bridges: int
    switches: tuple[int, ...]  # downstream ports of each switch

    @property
    def nbuses(self) -> int:
        return (
            self.root_ports
            + self.pcie_to_pci
            + self.bridges
            + len(self.switches)
            + sum(self.switches)
        )

    def models(self) -> list[str]:
        """The new controllers in index order: libvirt places them in this order, first-fit."""
        out = ["pcie-root-port"] * self.root_ports
        out += ["pcie-to-pci-bridge"] * self.pcie_to_pci + ["pci-bridge"] * self.bridges
        out += ["pcie-switch-upstream-port"] * len(self.switches)
        out += ["pcie-switch-downstream-port"] * sum(self.switches)
        return out


class DeepPciPass(PciPass):
    """:class:`PciPass` with the deep strategy as its sizing pass."""

    def __init__(self, domain: Domain, rules: LibvirtRules | None = None) -> None:
        super().__init__(domain, rules)
        self._simulating = False

    # ---------------------------------------------------------------- hooks
    def _grow(self, dev: Device | None, flags: int, wanted_bus: int) -> tuple[int, bool]:
        if self._simulating:
            raise _Shortage(flags)
        return super()._grow(dev, flags, wanted_bus)

    def _reserve_when_full(
        self, dev: Device | None, flags: int, function: int | None = None
    ) -> PciAddr:
        """A PCI Express device finding no free port takes a free conventional slot."""
        if flags & PCIE_DEVICE and not flags & INTEGRATED:
            conventional = (flags & ~PCIE_DEVICE) | PCI_DEVICE
            owner = dev if dev is not None else "reserved"
            addr = self.buses.find_free(conventional, function, owner=owner)
            if addr is not None:
                return addr
        return super()._reserve_when_full(dev, flags, function)

    # ---------------------------------------------------------------- sizing
    def _dry_run(self) -> None:
        self.dry = True
        self._build(self._max_index() + 1)
        self._collect_explicit()  # libvirt's growth for explicit buses beyond the last
        self._fill_gaps()
        self._build(self._max_index() + 1)
        self._collect_explicit()
        self._fixed_addresses()
        demand = self._demand()
        extra_bridges = 0
        root_functions = demand.root_functions
        free_ports = demand.free_ports
        for _ in range(_RETRIES):
            layout = self._layout(demand, extra_bridges, root_functions, free_ports)
            added = self._add(layout)
            try:
                self._simulate()
                return
            except _Shortage as shortage:
                flags = shortage.flags
            for c in added:
                self.domain.lists["controller"].remove(c)
                self.domain.added.remove(c)
            if flags & ROOT_PORT:
                root_functions -= 1
            elif flags & (PCIE_TO_PCI | UPSTREAM_PORT):
                free_ports -= 1
            elif flags & (PCI_DEVICE | PCI_BRIDGE):
                extra_bridges += 1
            else:
                break
        raise self._fail(None, "the devices do not fit even a deep PCI topology (--grow deep)")

    def _fill_gaps(self) -> None:
        """Controllers for buses without one, as libvirt's dry run adds them."""
        declared = self._pci_by_index()
        for i in range(1, self.buses.nbuses):
            if i not in declared:
                model = self.buses.buses[i].model
                ctrl = add_controller(self.domain, "pci", i, model)
                ctrl.pci_flags = CONTROLLER_FLAGS[model]

    def _simulate(self) -> None:
        """libvirt's final placement without writing anything; raises _Shortage."""
        self._simulating = True
        try:
            self._build(self._max_index() + 1)
            self._collect_explicit()
            self._fixed_addresses()
            self._place_all()
        finally:
            self._simulating = False

    def _demand(self) -> _Demand:
        conventional = express = 0
        used_ports = used_functions = 0
        for dev, flags in self._placement_order():
            if dev.tag == "controller" and controller_model(dev) in CONTROLLER_FLAGS:
                if flags & ROOT_PORT:
                    used_functions += 1
                elif flags & (DMI_TO_PCI | PCIE_EXPANDER):
                    used_functions += 8
                elif flags & (PCIE_TO_PCI | UPSTREAM_PORT):
                    used_ports += 1
                elif flags & PCI_BRIDGE:
                    conventional += 1
            elif flags & PCIE_DEVICE and not flags & INTEGRATED:
                express += 1
            elif flags & PCI_DEVICE:
                conventional += 1
        buses = self.buses
        free_slots = free_ports = root_functions = 0
        has_conventional = False
        for bus in buses.buses:
            r = bus.rules
            slots = range(r.min_slot, r.max_slot + 1)
            if bus.index == 0 and self.q35:
                for s in slots:
                    if not buses.slot_used(0, s):
                        root_functions += 8
                    elif s in (bus.open_aggregate or ()):  # (a full one has none free)
                        root_functions += sum(buses.is_free((0, 0, s, f)) for f in range(8))
            elif buses.compatible_auto(PCI_DEVICE | AUTOASSIGN, bus):
                has_conventional = True
                free_slots += sum(not buses.slot_used(bus.index, s) for s in slots)
            elif buses.compatible_auto(PCIE_DEVICE | AUTOASSIGN, bus) and bus.index:
                free_ports += not buses.slot_used(bus.index, 0)
        return _Demand(
            conventional=conventional,
            express=express,
            free_slots=free_slots,
            free_ports=free_ports - used_ports,
            root_functions=root_functions - used_functions,
            has_conventional_bus=has_conventional,
        )

    def _layout(
        self, demand: _Demand, extra_bridges: int, root_functions: int, free_ports: int
    ) -> _Layout:
        """The topology giving the most PCIe devices a port within the free bus numbers."""
        budget = MAX_INDEX - self._max_index()
        for ported in range(demand.express, 0, -1):  # counted, not built: O(1) a try
            if (
                sum(_layout_counts(demand, ported, extra_bridges, root_functions, free_ports))
                <= budget
            ):
                break
        else:
            ported = 0  # the last try; over budget, _add reports it
        return _layout_for(demand, ported, extra_bridges, root_functions, free_ports)

    def _add(self, layout: _Layout) -> list[Device]:
        first = self._max_index() + 1
        models = layout.models()
        if first + len(models) - 1 > MAX_INDEX:
            raise self._fail(
                None,
                f"the devices do not fit even a deep PCI topology (--grow deep): it needs "
                f"{first + len(models) - 1 - MAX_INDEX} bus numbers more than the {MAX_INDEX} "
                "PCI controllers libvirt allows",
            )
        added = []
        for i, model in enumerate(models):
            ctrl = add_controller(self.domain, "pci", first + i, model)
            ctrl.pci_flags = CONTROLLER_FLAGS[model]
            added.append(ctrl)
        return added


def _layout_for(
    demand: _Demand, ported: int, extra_bridges: int, root_functions: int, free_ports: int
) -> _Layout:
    """The controllers to add when ``ported`` PCIe devices get a port and the rest a slot."""
    root_ports, pcie_to_pci, bridges, nswitches, downstream = _layout_counts(
        demand, ported, extra_bridges, root_functions, free_ports
    )
    switches = tuple(min(_SWITCH_PORTS, downstream - i * _SWITCH_PORTS) for i in range(nswitches))
    return _Layout(root_ports, pcie_to_pci, bridges, switches)


def _layout_counts(
    demand: _Demand, ported: int, extra_bridges: int, root_functions: int, free_ports: int
) -> tuple[int, int, int, int, int]:
    """:func:`_layout_for`'s numbers: root ports, pcie-to-pci bridges, pci bridges, switches and
    their downstream ports (their sum is the layout's number of buses)."""
    conventional = demand.conventional + demand.express - ported
    pcie_to_pci = 0
    slots = demand.free_slots
    if conventional > slots and not demand.has_conventional_bus:
        pcie_to_pci = 1
        slots += _BRIDGE_SLOTS
    missing = conventional - slots
    bridges = max(0, -(-missing // (_BRIDGE_SLOTS - 1))) + extra_bridges
    ports = ported + pcie_to_pci - free_ports
    root_ports = nswitches = downstream = 0
    if 0 < ports <= root_functions:
        root_ports = ports
    elif ports > root_functions:
        root_ports = max(0, root_functions)
        deficit = ports - root_ports
        nswitches = max(0, -(-deficit // (_SWITCH_PORTS - 1)))
        downstream = deficit + nswitches if nswitches else 0  # (no switch: no port)
    return root_ports, pcie_to_pci, bridges, nswitches, downstream
