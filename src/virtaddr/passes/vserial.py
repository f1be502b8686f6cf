"""virtio-serial ports of channels (and the controllers virtio channels and consoles need)."""

from __future__ import annotations

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import add_controller, ensure_controllers

DEFAULT_PORTS = 31


def _is_virtio_chardev(d: Device) -> bool:
    return d.tag in ("channel", "console") and d.child_get("target", "type") == "virtio"


def add_virtio_serial_controllers(domain: Domain) -> None:
    for d in domain.lists["channel"] + domain.lists["console"]:
        if not _is_virtio_chardev(d):
            continue
        idx = d.addr.get("controller", 0) if d.addr_type == "virtio-serial" else 0
        ensure_controllers(domain, "virtio-serial", [idx], None)


def _ports(ctrl: Device) -> int:
    text = ctrl.get("ports")
    if text is not None and text.isdigit():
        return int(text)
    return DEFAULT_PORTS


def assign_virtio_serial(domain: Domain) -> list[Problem]:
    errors: list[Problem] = []
    ctrls = sorted(domain.controllers("virtio-serial"), key=lambda c: c.settled_index)
    used: dict[int, set[int]] = {c.settled_index: set() for c in ctrls}
    nports = {c.settled_index: _ports(c) for c in ctrls}
    for d in domain.walk():
        if d.addr_type != "virtio-serial" or d.addr.get("port", 0) == 0:
            continue
        c, p = d.addr.get("controller", 0), d.addr["port"]
        if c not in used:
            errors.append(d.error(f"virtio serial controller {c} is missing"))
        elif p >= nports[c]:
            errors.append(d.error(f"virtio serial controller {c} does not have port {p}"))
        elif p in used[c]:
            errors.append(d.error(f"virtio serial port {p} on controller {c} is already occupied"))
        else:
            used[c].add(p)
    order = [d for d in domain.lists["console"] if _is_virtio_chardev(d)]
    order += [d for d in domain.lists["channel"] if _is_virtio_chardev(d)]
    for d in order:
        console = d.tag == "console"
        complete = d.addr_type == "virtio-serial" and d.addr.get("port", 0) != 0
        if complete:
            continue
        if console:
            # libvirt finds a port for a virtio console but never stores it: without an address
            # it finds port 0, which it does not reserve (a port-0 address is "incomplete");
            # with a partial one it takes the lowest free port >= 1 of controller 0 (its scratch
            # address is zeroed, whatever controller the console names) and reserves it
            if d.addr_type == "virtio-serial":
                if 0 not in used:
                    errors.append(d.error("virtio-serial controller 0 not available"))
                    continue
                free = _lowest_free(used[0], nports[0], 1)
                if free is None:
                    errors.append(
                        d.error("Unable to find a free port on virtio-serial controller 0")
                    )
                    continue
                used[0].add(free)
            continue
        start = 1
        if d.addr_type == "virtio-serial":
            # a partial address (even the bare type: controller 0) keeps to its controller
            c = d.addr.get("controller", 0)
            if c not in used:
                errors.append(d.error(f"virtio-serial controller {c} not available"))
                continue
            free = _lowest_free(used[c], nports[c], start)
            if free is None:
                errors.append(
                    d.error(f"Unable to find a free port on virtio-serial controller {c}")
                )
                continue
            found: tuple[int, int] | None = (c, free)
        else:
            found = None
            for idx in sorted(used):
                free = _lowest_free(used[idx], nports[idx], start)
                if free is not None:
                    found = (idx, free)
                    break
            if found is None:
                idx = 0
                while idx in used:
                    idx += 1
                new = add_controller(domain, "virtio-serial", idx, None)
                used[idx] = set()
                nports[idx] = _ports(new)
                found = (idx, start)
        assert found is not None
        used[found[0]].add(found[1])
        d.set_address("virtio-serial", {"controller": found[0], "bus": 0, "port": found[1]})
    return errors


def _lowest_free(used: set[int], nports: int, start: int) -> int | None:
    for p in range(start, nports):
        if p not in used:
            return p
    return None
