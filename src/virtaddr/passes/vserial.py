"""virtio-serial ports of channels (and the controllers virtio channels and consoles need).

The ports are an :class:`~virtaddr.alloc.AddressSpace` of ``(controller, port)``, a pool
``{index}{0..ports-1}`` per controller (:class:`VirtioSerialPorts`); ``assign`` and ``check``
reserve explicit ports through it alike.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING

from virtaddr.errors import Collision, InvalidAddress, OutOfPool
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import add_controller, ensure_controllers

if TYPE_CHECKING:
    from virtaddr.alloc.space import AddressSpace

DEFAULT_PORTS = 31
_UINT = 0xFFFFFFFF


class VirtioSerialPorts:
    """The ports of a domain's virtio-serial controllers: which are free, who holds the rest.

    A controller with no port (``ports='0'``) is known but has no pool, so reserving on it
    reads as a port it does not have, not a missing controller.
    """

    __slots__ = ("nports", "space")

    def __init__(self, nports: Mapping[int, int]) -> None:
        from virtaddr.alloc.space import AddressSpace  # (only for domains with virtio-serial)

        #: Ports per controller index (the controllers present).
        self.nports = dict(nports)
        self.space: AddressSpace = AddressSpace.from_dims(
            ("controller", 0, _UINT), ("port", 0, _UINT), name="virtio-serial"
        )
        for idx in sorted(self.nports):
            self._add_pool(idx)

    def _add_pool(self, idx: int) -> None:
        n = self.nports[idx]
        if 0 <= idx <= _UINT and n > 0:
            self.space.add_pool([(idx, idx), (0, min(n, _UINT + 1) - 1)])

    def add_controller(self, idx: int, nports: int) -> None:
        """A controller added by the pass, its ports all free."""
        self.nports[idx] = nports
        self._add_pool(idx)

    def reserve(self, controller: int, port: int, owner: Hashable) -> str | None:
        """Reserve ``port`` of ``controller`` for ``owner``; libvirt's message when it cannot.

        The :class:`~virtaddr.errors.Collision` itself is raised (its owner names who holds
        the port) so that a caller may report both devices; see :func:`collision_message`.
        """
        try:
            self.space.reserve((controller, port), owner)
        except (OutOfPool, InvalidAddress):
            if controller not in self.nports:
                return f"virtio serial controller {controller} is missing"
            return f"virtio serial controller {controller} does not have port {port}"
        return None

    def lowest_free(self, controller: int | None, start: int = 1) -> tuple[int, int] | None:
        """The lowest free port ``>= start`` of ``controller`` (``None``: of the controllers in
        index order), as ``(controller, port)``."""
        found = self.space.first_free((controller, (start, _UINT)))
        return None if found is None else (found[0], found[1])

    def take(self, controller: int, port: int, owner: Hashable) -> None:
        """Reserve a port known to be free (one :meth:`lowest_free` found, or the first of a
        controller just added)."""
        self.space.reserve((controller, port), owner)


def collision_message(controller: int, port: int) -> str:
    return f"virtio serial port {port} on controller {controller} is already occupied"


def _is_virtio_chardev(d: Device) -> bool:
    return d.tag in ("channel", "console") and d.child_get("target", "type") == "virtio"


def add_virtio_serial_controllers(domain: Domain) -> None:
    for d in domain.lists["channel"] + domain.lists["console"]:
        if not _is_virtio_chardev(d):
            continue
        idx = d.addr.get("controller", 0) if d.addr_type == "virtio-serial" else 0
        ensure_controllers(domain, "virtio-serial", [idx], None)


def controller_ports(ctrl: Device) -> int:
    """The ports of a virtio-serial controller: its ``ports``, else libvirt's default."""
    text = ctrl.get("ports")
    if text is not None and text.isdigit():
        return int(text)
    return DEFAULT_PORTS


def assign_virtio_serial(domain: Domain) -> list[Problem]:
    errors: list[Problem] = []
    ctrls = sorted(domain.controllers("virtio-serial"), key=lambda c: c.settled_index)
    explicit = [
        d for d in domain.walk() if d.addr_type == "virtio-serial" and d.addr.get("port", 0) != 0
    ]
    order = [d for d in domain.lists["console"] if _is_virtio_chardev(d)]
    order += [d for d in domain.lists["channel"] if _is_virtio_chardev(d)]
    if not (ctrls or explicit or order):
        return errors  # (most domains: no allocator to load)
    ports = VirtioSerialPorts({c.settled_index: controller_ports(c) for c in ctrls})
    for d in explicit:
        c, p = d.addr.get("controller", 0), d.addr["port"]
        try:
            message = ports.reserve(c, p, d)
        except Collision:
            message = collision_message(c, p)
        if message is not None:
            errors.append(d.error(message))
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
                if 0 not in ports.nports:
                    errors.append(d.error("virtio-serial controller 0 not available"))
                    continue
                free = ports.lowest_free(0)
                if free is None:
                    errors.append(
                        d.error("Unable to find a free port on virtio-serial controller 0")
                    )
                    continue
                ports.take(*free, d)
            continue
        if d.addr_type == "virtio-serial":
            # a partial address (even the bare type: controller 0) keeps to its controller
            c = d.addr.get("controller", 0)
            if c not in ports.nports:
                errors.append(d.error(f"virtio-serial controller {c} not available"))
                continue
            found = ports.lowest_free(c)
            if found is None:
                errors.append(
                    d.error(f"Unable to find a free port on virtio-serial controller {c}")
                )
                continue
        else:
            found = ports.lowest_free(None)
            if found is None:
                idx = 0
                while idx in ports.nports:
                    idx += 1
                new = add_controller(domain, "virtio-serial", idx, None)
                ports.add_controller(idx, controller_ports(new))
                found = (idx, 1)
        ports.take(*found, d)
        d.set_address("virtio-serial", {"controller": found[0], "bus": 0, "port": found[1]})
    return errors
