"""``assign --hotplug-room N [--hotplug-room-pci M]``: empty hotpluggable slots, on request.

After the normal assignment, controllers are added *without* an address and the define-time
pass runs again: every address already there is explicit by then and stays, and libvirt's own
placement puts each new controller where it would put it (a pcie-root-port on the lowest free
function of the first root-complex slot that is empty or already holds root ports; a bridge in
the first free slot), with its index, chassis and port computed as libvirt computes them.

- q35, ``N``: pcie-root-ports until N empty hotpluggable ports can each take a PCIe device;
- q35, ``M``: a pcie-to-pci-bridge (in a root port of its own) and, past its 31 slots,
  pci-bridges behind it, until M empty hotpluggable conventional slots exist;
- pc: every slot is conventional, so N + M empty hotpluggable slots, by pci-bridges (31 each,
  one of which a further bridge would use).
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from virtaddr.libvirt.problems import ERROR, Problem
from virtaddr.passes.result import AssignResult
from virtaddr.passes.versions import LibvirtRules
from virtaddr.topology import Topology, read_topology
from virtaddr.xmldoc.names import local
from virtaddr.xmldoc.xmledit import insert_element, new_element

__all__ = ["add_hotplug_room"]

_ROUNDS = 8
_BRIDGE_NET = 30  # a pci-bridge's 31 slots, less the one it takes


def add_hotplug_room(
    tree: etree._ElementTree,
    *,
    pcie: int,
    pci: int = 0,
    source: str | None = None,
    assign: Callable[[etree._ElementTree], AssignResult] | None = None,
    rules: LibvirtRules | None = None,
) -> AssignResult:
    """Assign ``tree`` (with ``assign``, default libvirt's way), then add controllers until at
    least ``pcie`` PCIe devices and ``pci`` conventional ones can be hotplugged."""
    from virtaddr.passes.pipeline import run_pipeline

    def run(t: etree._ElementTree) -> AssignResult:
        return assign(t) if assign is not None else run_pipeline(t, source=source, rules=rules)

    result = run(tree)
    if not result.ok:
        return result
    for _ in range(_ROUNDS):
        topo = read_topology(tree, source=source)
        models = _missing(topo, pcie, pci)
        if not models:
            return result
        _add_controllers(tree, topo, models)
        result = run_pipeline(tree, source=source, rules=rules)
        if not result.ok:  # libvirt would reject the controllers where they land: say why
            return AssignResult(tree, [_added_by_us(p, models) for p in result.problems])
    topo = read_topology(tree, source=source)
    if _missing(topo, pcie, pci):
        message = (
            f"cannot make room for {pcie} PCIe and {pci} conventional PCI hotplug devices: "
            f"{topo.room.hotplug_pcie} and {topo.room.hotplug_pci} are free"
        )
        return AssignResult(tree, [Problem(ERROR, message, source=source)])
    return result


def _added_by_us(problem: Problem, models: list[str]) -> Problem:
    """libvirt's problem with the controllers added for room, saying they are ours."""
    added = ", ".join(sorted(set(models)))
    return problem.replace(message=f"no room for the added {added}: {problem.message}")


def _missing(topo: Topology, pcie: int, pci: int) -> list[str]:
    """The next controllers to add (models, in index order); [] when the room is there."""
    room = topo.room
    if not topo.buses or topo.buses[0].model != "pcie-root":
        short = pcie + pci - room.hotplug_pci
        return ["pci-bridge"] * -(-short // _BRIDGE_NET) if short > 0 else []
    models: list[str] = []
    short_pci = pci - room.hotplug_pci
    if short_pci > 0:
        conventional = any(b.autoassign and "standard PCI device" in b.accepts for b in topo.buses)
        if not conventional:
            # the bridge takes a free port: give it one of its own, so N stays as counted
            models += ["pcie-root-port", "pcie-to-pci-bridge"]
            short_pci -= 31
        if short_pci > 0:
            models += ["pci-bridge"] * -(-short_pci // _BRIDGE_NET)
    short_pcie = pcie - room.hotplug_pcie
    if short_pcie > 0:
        models = ["pcie-root-port"] * short_pcie + models
    return models


def _add_controllers(tree: etree._ElementTree, topo: Topology, models: list[str]) -> None:
    root = tree.getroot()
    devices = next((c for c in root if local(c.tag) == "devices"), None)
    if devices is None:  # an assigned domain has one; be safe anyway
        devices = insert_element(root, new_element("devices"))
    index = max((b.index for b in topo.buses), default=0) + 1
    for model in models:
        ctrl = new_element("controller", [("type", "pci"), ("index", str(index)), ("model", model)])
        insert_element(devices, ctrl, after=("controller", "disk", "emulator"))
        index += 1
