"""pSeries PCI host bridges (PHBs): ``pci-root`` controllers with a ``<target index>``."""

from __future__ import annotations

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import controller_model

PHB_MODEL_NAME = "spapr-pci-host-bridge"
MAX_TARGET_INDEX = 31


def written_target_index(c: Device) -> int | None:
    text = c.child_get("target", "index")
    return int(text) if text is not None and text.isdigit() else None


def check_phb_target_indexes(ctrls: list[Device]) -> Problem | None:
    """Target index 0 belongs to the PHB with controller index 0, and only to it."""
    for c in ctrls:
        if controller_model(c) != "pci-root":
            continue
        target = written_target_index(c)
        if target is not None and (target == 0) != (c.index == 0):
            return c.error(
                "Only the PCI controller with index 0 can have target index 0, and vice versa"
            )
        if target is not None and target > MAX_TARGET_INDEX - 1:
            return c.error(
                f"PCI controller target index '{target}' out of range - must be 0-"
                f"{MAX_TARGET_INDEX - 1}"
            )
    return None


def fill_phb_defaults(ctrls: list[Device]) -> Problem | None:
    """<model name> and <target index> of each PHB, in controller order as libvirt fills them.

    A PHB is recognised (for target indexes in use) only once its model name is known, so a
    later PHB's written target index is not seen unless it also has its model name written.
    """
    named: dict[int, int | None] = {}  # id(controller) -> target index, once recognised
    for c in ctrls:
        if controller_model(c) == "pci-root" and c.child_get("model", "name") == PHB_MODEL_NAME:
            named[id(c)] = _target(c)
    for c in ctrls:
        if controller_model(c) != "pci-root":
            continue
        if c.child_get("model", "name") is None:
            c.model_name = PHB_MODEL_NAME
        target = _target(c)
        if target is None:
            if c.index == 0:
                target = 0
            else:
                used = set(named.values())
                target = next((t for t in range(1, MAX_TARGET_INDEX + 1) if t not in used), None)
                if target is None:
                    bus = c.pci[1] if c.pci is not None else 0
                    return c.error(f"No usable target index found for {bus}")
            if target > MAX_TARGET_INDEX - 1:
                return c.error(
                    f"PCI controller target index '{target}' out of range - must be 0-"
                    f"{MAX_TARGET_INDEX - 1}"
                )
            if c.filled_target is None:
                c.filled_target = {}
            c.filled_target["index"] = str(target)
        named[id(c)] = target
    return None


def _target(c: Device) -> int | None:
    written = written_target_index(c)
    if written is not None:
        return written
    value = (c.filled_target or {}).get("index")
    return int(value) if value is not None else None
