"""``assign --grow deep`` and ``--hotplug-room N`` / ``--hotplug-room-pci M``: beyond libvirt.

Without these options ``assign`` is exactly libvirt's define. ``--grow deep`` only changes the
outcome where libvirt's own growth gives up (see :mod:`virtaddr.passes.pci_deep`);
``--hotplug-room`` adds controllers after the normal assignment (:mod:`virtaddr.hotplug.room`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from lxml import etree

    from virtaddr.api import AssignResult

__all__ = [
    "DEEP_GROWTH_HINT",
    "GrowthOptions",
    "add_arguments",
    "fits_deeper",
    "from_args",
    "growth_gave_up",
]

DEEP_GROWTH_HINT = "--grow deep builds a deeper PCI topology with room for more"


def growth_gave_up(message: str) -> bool:
    """True when ``message`` is one of libvirt's when its growth gives up: the failures
    ``--grow deep`` handles when there are simply too many devices (see :func:`fits_deeper`:
    the same words also come from a controller that no topology can place)."""
    from virtaddr.api import growth_gave_up as gave_up

    return gave_up(message)


def fits_deeper(
    tree: etree._ElementTree,
    source: str | None,
    options: GrowthOptions | None = None,
    libvirt: str | None = None,
) -> bool:
    """True when ``--grow deep`` (with ``options``' hotplug room) assigns ``tree``; the caller
    gives a tree it can spare (this changes it)."""
    from virtaddr.api import VirtaddrError

    pcie, pci = (options.hotplug_pcie, options.hotplug_pci) if options else (0, 0)
    try:
        return not GrowthOptions(True, pcie, pci).assign(tree, source, libvirt).errors
    except VirtaddrError:
        return False


class GrowthOptions:
    """What the options asked for; picklable, so that pool workers get it.

    A plain class: ``@dataclass`` would add ~0.5 ms to every ``virtaddr`` process's start-up.
    """

    __slots__ = ("deep", "hotplug_pci", "hotplug_pcie")

    def __init__(self, deep: bool, hotplug_pcie: int, hotplug_pci: int) -> None:
        self.deep = deep
        self.hotplug_pcie = hotplug_pcie
        self.hotplug_pci = hotplug_pci

    def assign(
        self, tree: etree._ElementTree, source: str | None, libvirt: str | None = None
    ) -> AssignResult:
        """Assign ``tree`` as the options say, as libvirt ``libvirt`` (default the newest)."""
        from virtaddr.api import assign_deep, assign_tree, rules_for

        rules = rules_for(libvirt)

        def base(t: etree._ElementTree) -> AssignResult:
            if self.deep:
                return assign_deep(t, source=source, rules=rules)
            return assign_tree(t, source=source, libvirt=libvirt)

        if not (self.hotplug_pcie or self.hotplug_pci):
            return base(tree)
        from virtaddr.api import add_hotplug_room

        return add_hotplug_room(
            tree,
            pcie=self.hotplug_pcie,
            pci=self.hotplug_pci,
            source=source,
            assign=base,
            rules=rules,
        )


def _count(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"must be between 0 and 4096: {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("beyond libvirt (off by default)")
    group.add_argument(
        "--grow",
        choices=("libvirt", "deep"),
        default="libvirt",
        help="'deep': where libvirt's PCI growth gives up, nest pci-bridges and use PCIe "
        "switches (thousands of devices); 'libvirt' (default): libvirt's growth and failure",
    )
    group.add_argument(
        "--hotplug-room",
        type=_count,
        default=0,
        metavar="N",
        help="leave at least N empty hotpluggable slots for PCIe devices (q35: pcie-root-ports; "
        "pc: pci-bridge slots); existing addresses never move",
    )
    group.add_argument(
        "--hotplug-room-pci",
        type=_count,
        default=0,
        metavar="M",
        help="leave at least M empty hotpluggable conventional PCI slots (q35: a "
        "pcie-to-pci-bridge, then pci-bridges; pc: pci-bridges)",
    )


def from_args(args: argparse.Namespace) -> GrowthOptions | None:
    """None when no option asks for anything beyond libvirt."""
    options = GrowthOptions(
        deep=args.grow == "deep",
        hotplug_pcie=args.hotplug_room,
        hotplug_pci=args.hotplug_room_pci,
    )
    if not (options.deep or options.hotplug_pcie or options.hotplug_pci):
        return None
    return options
