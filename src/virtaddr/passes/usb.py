"""USB ports: controllers and hubs as a tree of ports, filled as libvirt fills them."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from virtaddr.alloc.space import AddressSpace, Pool
from virtaddr.errors import Collision, InvalidAddress
from virtaddr.kinds import usb
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.libvirt.usbport import MAX_DEPTH, format_usb_port
from virtaddr.passes.defaults import controller_model
from virtaddr.passes.versions import LibvirtRules, rules_for

HUB_PORTS = 8
_COMPANIONS = ("ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def controller_ports(c: Device) -> int:
    model = controller_model(c)
    ports = c.get("ports")
    if model in ("piix3-uhci", "piix4-uhci", "vt82c686b-uhci", None):
        return 2
    if model in ("ehci", "ich9-ehci1"):
        return 6
    if model in _COMPANIONS:
        return 0
    if model in ("pci-ohci", "qemu-xhci", "nec-xhci", "qusb1", "qusb2"):
        if ports is not None and ports.isdigit():
            return int(ports)
        return 3 if model == "pci-ohci" else 4
    return 0


def is_usb_net(dev: Device) -> bool:
    """An interface of model usb-net (a USB device for libvirt 11.3, rules ``usb_net_and_mtp``)."""
    return (dev.child_get("model", "type") or "").lower() == "usb-net"


def is_mtp_filesystem(dev: Device) -> bool:
    """A filesystem of driver mtp (a USB device for libvirt 11.3)."""
    return dev.child_get("driver", "type") == "mtp"


def _is_usb(dev: Device, usb_kinds: bool) -> bool:
    """libvirt 11.3's virDomainDeviceIsUSB (hubs aside)."""
    tag = dev.tag
    if tag == "disk":
        return dev.bus == "usb"
    if tag == "interface":
        return usb_kinds and is_usb_net(dev)
    if tag == "sound":
        return dev.get("model") == "usb"
    if tag == "hostdev":
        return dev.get("type") == "usb" and dev.get("mode", "subsystem") == "subsystem"
    if tag == "controller":
        return dev.get("type") == "ccid"
    if tag == "serial":
        return dev.child_get("target", "type") == "usb-serial"
    if tag == "input":
        return dev.bus == "usb"
    if tag == "filesystem":
        return usb_kinds and is_mtp_filesystem(dev)
    if tag == "redirdev":
        return dev.get("bus") == "usb"
    return False


def usb_devices(domain: Domain, rules: LibvirtRules | None = None) -> Iterator[Device]:
    """libvirt's USB walk: hubs, then (9.0) usb hostdevs, usb disks, CCID controllers, usb
    inputs, ...; or (11.3, ``usb_ports_in_device_walk_order``) the USB devices in device-walk
    order."""
    lists = domain.lists
    if rules is not None and rules.usb_ports_in_device_walk_order:
        yield from (h for h in lists["hub"] if h.get("type") == "usb")
        usb_kinds = rules.usb_net_and_mtp
        yield from (d for d in domain.walk() if d.tag != "hub" and _is_usb(d, usb_kinds))
        return
    yield from (h for h in lists["hub"] if h.get("type") == "usb")
    yield from (h for h in lists["hostdev"] if h.tag == "hostdev" and h.get("type") == "usb")
    yield from (d for d in lists["disk"] if d.bus == "usb")
    yield from (c for c in lists["controller"] if c.get("type") == "ccid")
    yield from (i for i in lists["input"] if i.bus == "usb")
    yield from (s for s in lists["serial"] if s.child_get("target", "type") == "usb-serial")
    yield from (s for s in lists["sound"] if s.get("model") == "usb")
    yield from (r for r in lists["redirdev"] if r.get("bus") == "usb")


class UsbPass:
    """libvirt's USB pass on the allocator: one space of port paths (:data:`usb.KIND`), a pool
    per controller (its root ports) and per hub (its eight), explicit ports reserved, then the
    others placed in libvirt's order (:meth:`_find`).

    ``buses`` maps a controller index to its root pool (``None``: a controller without ports);
    each pool's ``data`` maps a port to the pool of the hub plugged there: the tree libvirt's
    search walks and its messages name.
    """

    def __init__(self, domain: Domain, rules: LibvirtRules | None = None) -> None:
        self.domain = domain
        self.rules = rules or rules_for()
        self.space = AddressSpace(usb.KIND)
        self.buses: dict[int, Pool | None] = {}
        self.errors: list[Problem] = []

    def run(self) -> list[Problem]:
        devices = list(usb_devices(self.domain, self.rules))
        ctrls = self.domain.controllers("usb")
        for c in ctrls:
            model = controller_model(c)
            if model in ("qemu-xhci", "nec-xhci") and controller_ports(c) > 15:
                self.errors.append(c.error(f"'{model}' controller only supports up to '15' ports"))
                return self.errors
        if not devices:
            return []
        if all(controller_model(c) == "none" for c in ctrls):
            self.errors.append(
                devices[0].error(
                    "USB is disabled for this domain, but USB devices are present in the domain XML"
                )
            )
            return self.errors
        self._add_hubs(devices, ctrls)
        devices = list(usb_devices(self.domain, self.rules))
        for c in ctrls:
            n = controller_ports(c)
            if controller_model(c) in _COMPANIONS or controller_model(c) == "none":
                continue
            idx = c.index
            assert idx is not None  # every controller has its index by now
            if idx in self.buses:
                self.errors.append(c.error(f"Duplicate USB controllers with index {idx}"))
                return self.errors
            self.buses[idx] = self._add_level(idx, (), n)
        hubs = [d for d in devices if d.tag == "hub"]
        others = [d for d in devices if d.tag != "hub"]
        for h in hubs:
            if h.addr_type == "usb" and "port" in h.addr:
                self._reserve(h, hub=True)
        for d in others:
            if d.addr_type == "usb" and "port" in d.addr:
                self._reserve(d, hub=False)
        if self.errors:
            return self.errors
        for d in hubs + others:
            if d.addr_type == "usb" and "port" in d.addr:
                continue
            if d.addr_type not in (None, "usb"):
                continue
            self._assign(d, hub=d.tag == "hub")
            if self.errors:
                break
        return self.errors

    def _add_hubs(self, devices: list[Device], ctrls: list[Device]) -> None:
        available = sum(controller_ports(c) for c in ctrls if controller_model(c) != "none")
        available += HUB_PORTS * sum(1 for d in devices if d.tag == "hub")
        count = len(devices)
        if count <= available:
            return
        need = -(-(count - available + 1) // 7)
        for _ in range(need):
            self.domain.add_device("hub", [("type", "usb")])

    def _add_level(self, bus: int, path: tuple[int, ...], nports: int) -> Pool | None:
        """The pool of the ports of a controller (``path`` empty) or of the hub at ``path``;
        ``None`` when it has none the kind can hold (no ports, a bus past an unsigned int)."""
        ports = min(nports, usb.MAX_PORT)
        if ports < 1:
            return None
        try:
            box = usb.hub_box(bus, path + (0,) * (usb.LEVELS - len(path)) if path else None, ports)
            children: dict[int, Pool] = {}
            return self.space.add_pool(box, name=f"USB bus {bus} port {path}", data=children)
        except InvalidAddress:
            return None

    def _reserve(self, d: Device, *, hub: bool) -> None:
        """Reserve the explicit port of ``d``, or say what libvirt says of it."""
        bus = d.addr.get("bus", 0)
        port: tuple[int, ...] = d.addr["port"]
        text = format_usb_port(port)
        if bus not in self.buses:
            self.errors.append(d.error(f"Missing USB bus {bus}"))
            return
        level = self.buses[bus]
        for depth, p in enumerate(port[:-1]):
            if p < 1 or p > _nports(level, depth):
                self.errors.append(
                    d.error(f"port {p} out of range in USB address bus: {bus} port: {text}")
                )
                return
            nxt = _hubs(level).get(p)
            if nxt is None:
                self.errors.append(
                    d.error(f"there is no hub at port {p} in USB address bus: {bus} port: {text}")
                )
                return
            level = nxt
        last = port[-1]
        if last < 1 or last > _nports(level, len(port) - 1):
            self.errors.append(d.error(f"requested USB port {text} not present on USB bus {bus}"))
            return
        address = (bus, *port, *(0,) * (usb.LEVELS - len(port)))
        try:
            self.space.reserve(address, d)
        except Collision as exc:
            what = "hub" if hub else "address"
            self.errors.append(
                self._duplicate(d, f"Duplicate USB {what} bus {bus} port {text}", exc.owner)
            )
            return
        if hub and len(port) < MAX_DEPTH:
            child = self._add_level(bus, port, HUB_PORTS)
            if child is not None:
                _hubs(level)[last] = child

    def _duplicate(self, d: Device, message: str, holder: Hashable) -> Problem:
        """The error for a port already taken (``check`` names the device holding it)."""
        return d.error(message)

    def _find(self, level: Pool | None, depth: int) -> tuple[int, ...] | None:
        """The first free port in libvirt's order: the free ports of this controller or hub
        first, then, a level deeper, each hub in port order (not the paths' order: ``2``
        before ``1.1``)."""
        if level is None:
            return None
        found = self.space.first_free(None, pools=(level,))
        if found is not None:
            return found[1 : depth + 2]
        if depth + 1 >= MAX_DEPTH:
            return None
        hubs = _hubs(level)
        for p in sorted(hubs):
            below = self._find(hubs[p], depth + 1)
            if below is not None:
                return below
        return None

    def _assign(self, d: Device, *, hub: bool) -> None:
        if d.addr_type == "usb" and "bus" in d.addr:
            bus = d.addr["bus"]
            if bus not in self.buses:
                self.errors.append(
                    d.error(f"USB bus {bus} requested but no controller with that index is present")
                )
                return
            candidates = [bus]
        else:
            candidates = sorted(self.buses)
        for bus in candidates:
            port = self._find(self.buses[bus], 0)
            if port is not None:
                d.set_address("usb", {"bus": bus, "port": port})
                self._reserve(d, hub=hub)
                return
        self.errors.append(d.error("No free USB ports"))


def _nports(level: Pool | None, depth: int) -> int:
    """How many ports the controller or hub at ``depth`` has (its pool's range there)."""
    return 0 if level is None else level.box.ranges[depth + 1][1]


def _hubs(level: Pool | None) -> dict[int, Pool]:
    """The hubs plugged into the ports of a controller or hub, by port."""
    return {} if level is None else level.data


def assign_usb_addresses(domain: Domain, rules: LibvirtRules | None = None) -> list[Problem]:
    return UsbPass(domain, rules).run()
