"""Every explicit address of a domain, reserved on the allocator, every problem kept.

libvirt's define stops at the first error; this pass goes on after each one, so that a
hand-written domain gets all its address problems at once. It runs libvirt's preparatory stages
(controller indexes, default devices, drive addresses from target names, implicit controllers)
collecting their errors instead of stopping, then reserves each explicit address of each type
in its own :class:`~virtaddr.alloc.AddressSpace`: a collision names both devices and both lines.
The bus rules come from the PCI pass itself (:class:`~virtaddr.passes.pci.PciPass`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterable

from virtaddr.alloc import AddressKind, AddressSpace
from virtaddr.checker.fit import address_type_errors
from virtaddr.errors import Collision, InvalidAddress, OutOfPool
from virtaddr.kinds import drive as drive_kind
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import ERROR, Problem, Related
from virtaddr.passes import defaults, drive, other, vserial
from virtaddr.passes.defaults import ROOT_MODELS, controller_model
from virtaddr.passes.pci import PciPass
from virtaddr.passes.pci_buses import PciAddr, PciBusSet, format_pci
from virtaddr.passes.pci_flags import PCI_DEVICE, PCIE_DEVICE, UPSTREAM_PORT
from virtaddr.passes.usb import UsbPass

__all__ = ["ExplicitPass"]

_UINT = 0xFFFFFFFF
_DRIVE_BUSES = ("ide", "sata", "scsi", "fdc")
# Functions the chipset itself occupies: libvirt reserves them on every pc / q35 domain.
_CHIPSET = {
    "pc": (((0, 0, 1, 0), "the PIIX3 ISA bridge"), ((0, 0, 1, 3), "the PIIX4 ACPI controller")),
    "q35": (((0, 0, 0x1F, 0), "the ICH9 LPC bridge"), ((0, 0, 0x1F, 3), "the ICH9 SMBus")),
}


class ExplicitPass:
    """Check one domain's explicit addresses; ``run()`` returns every error found.

    After ``run()``, ``pci_explicit`` holds each device with an explicit PCI address that was
    reserved, with that address, and ``pci_buses`` the buses the controllers declare.
    """

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.problems: list[Problem] = []
        self.pci_explicit: list[tuple[Device, PciAddr]] = []
        self.pci_buses = PciBusSet()

    # ---------------------------------------------------------------- driver
    def run(self) -> list[Problem]:
        d = self.domain
        self._errors(d.problems)
        self._errors(address_type_errors(d))
        explicit = {id(dev) for name in d.lists for dev in d.lists[name] if dev.addr_type}
        self._errors(defaults.read_controller_indexes(d))
        defaults.add_scsi_hostdev_controllers(d)
        defaults.fill_controller_indexes(d)
        self._errors(defaults.check_duplicate_indexes(d))
        self._errors(defaults.add_default_devices(d))
        defaults.fill_device_defaults(d)
        # hostdev-vs-disk clashes are reported by _drive, naming both devices
        self._errors(
            e for e in drive.assign_drive_addresses(d) if "in use by a SCSI disk" not in e.message
        )
        drive.add_drive_controllers(d)
        vserial.add_virtio_serial_controllers(d)
        self._errors(other.assign_smartcards(d))
        drive.add_hostdev_scsi_controllers(d)
        defaults.add_implicit_video(d)
        defaults.fill_device_defaults(d)
        self._errors(other.check_machine_controllers(d))
        self._errors(other.check_zpci(d))
        self._smartcards()
        self._virtio_serial()
        self._pci()
        self._usb()
        self._dimm()
        self._drive(explicit)
        # a disk whose name libvirt cannot read is refused once, when it is given its address
        named = tuple(
            x
            for x in d.lists["disk"]
            if x.addr_type is not None
            or not drive.name_unreadable(x.child_get("target", "dev"), True)
        )
        self._errors(drive.check_drive_addresses(d, duplicates=False, disks=named))
        self._errors(e for x in named if (e := drive.target_name_error(x)))
        self._duplicate_targets()
        return self.problems

    # ---------------------------------------------------------------- reporting
    def _errors(self, problems: Iterable[Problem]) -> None:
        """libvirt's own problems (code ``libvirt``), as its stages find them."""
        for p in problems:
            self._add(p)

    def _add(self, problem: Problem) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def _error(self, dev: Device, code: str, message: str, other: Hashable = None) -> None:
        related: tuple[Related, ...] = ()
        if isinstance(other, Device):
            related = (Related(other.line, other.describe()),)
            message += f" (already used by {_name(other)})"
        elif other is not None:
            message += f" (reserved for {other})"
        self._add(
            Problem(
                ERROR,
                message,
                line=dev.line,
                device=dev.describe(),
                source=self.domain.source,
                code=code,
                related=related,
            )
        )

    # ---------------------------------------------------------------- PCI
    def _pci(self) -> None:
        pci = PciPass(self.domain)  # also gives every device its connect flags
        try:
            pci.build_declared_buses()
        except (InvalidAddress, KeyError):  # index > 255, unknown model: the PCI pass reports
            return
        self.pci_buses = buses = pci.buses
        self._pci_fixed(buses)
        for dev in self.domain.walk():
            if dev.addr_type != "pci" or dev.pci_wanted() or not pci.collects(dev):
                continue
            if dev.tag == "controller" and controller_model(dev) in ROOT_MODELS:
                self._error(
                    dev,
                    "pci-root",
                    "pci-root and pcie-root controllers should not have an address",
                )
                continue
            if self._pci_fixed_device(dev):
                continue
            addr = dev.pci
            assert addr is not None
            if addr[2] > 0x1F or addr[3] > 7:
                continue  # refused, in libvirt's words, when the address was read
            flags = dev.pci_flags or PCI_DEVICE
            if addr[0] != 0:
                self._error(
                    dev,
                    "pci-domain",
                    f"Invalid PCI address {format_pci(addr)}. Only PCI domain 0 is available",
                )
                continue
            if addr[1] >= buses.nbuses:
                if flags & (PCI_DEVICE | PCIE_DEVICE | UPSTREAM_PORT):
                    continue  # libvirt adds the buses up to this one (checked by the pipeline)
                self._error(
                    dev,
                    "pci-bus",
                    f"Invalid PCI address {format_pci(addr)}. "
                    f"Only PCI buses up to {buses.nbuses - 1} are available",
                )
                continue
            problem = pci.explicit_error(dev, addr, flags)
            if problem is not None:
                self._errors([problem])
                if "slot must be" in problem.message:
                    continue
            self._pci_reserve(buses, dev, addr, flags)

    def _pci_reserve(self, buses: PciBusSet, dev: Device, addr: PciAddr, flags: int) -> None:
        try:
            buses.reserve(addr, flags, dev)
        except Collision as exc:
            self._error(
                dev, "pci-collision", f"Attempted double use of PCI Address {format_pci(addr)}",
                exc.owner,
            )  # fmt: skip
            return
        except (OutOfPool, InvalidAddress):
            return  # outside every bus: reported by the bus rules
        self.pci_explicit.append((dev, addr))

    def _pci_fixed(self, buses: PciBusSet) -> None:
        """The chipset's own functions and the controllers libvirt pins to the chipset."""
        family = self.domain.machine.family
        for addr, what in _CHIPSET.get(family, ()):
            with contextlib.suppress(Collision, OutOfPool):
                buses.reserve(addr, PCI_DEVICE, f"{what} at {format_pci(addr)}")
        for c in self.domain.lists["controller"]:
            fixed = _fixed_place(c, family)
            if fixed is None:
                continue
            want, message = fixed
            if c.addr_type == "pci" and not c.pci_wanted() and c.pci != want:
                self._error(c, "pci-chipset", message)
            elif c.addr_type in (None, "pci"):
                with contextlib.suppress(Collision, OutOfPool):  # a duplicate index: reported
                    buses.reserve(want, PCI_DEVICE, c)

    def _pci_fixed_device(self, dev: Device) -> bool:
        """Whether ``dev`` is a controller pinned to the chipset (reserved by _pci_fixed)."""
        return dev.tag == "controller" and _fixed_place(dev, self.domain.machine.family) is not None

    # ---------------------------------------------------------------- drive
    def _drive(self, explicit: set[int]) -> None:
        """One space per drive bus: explicit and name-derived disk addresses, SCSI hostdevs."""
        spaces = {bus: _whole_space(drive_kind.KIND) for bus in _DRIVE_BUSES}
        for d in self.domain.lists["disk"]:
            bus = d.bus
            if bus in spaces and d.addr_type == "drive":
                self._drive_reserve(spaces[bus], d)
        for h in self.domain.lists["hostdev"]:
            if id(h) in explicit and h.addr_type == "drive" and h.get("type") == "scsi":
                self._drive_reserve(spaces["scsi"], h)

    def _drive_reserve(self, space: AddressSpace, dev: Device) -> None:
        a = dev.addr
        key = (a.get("controller", 0), a.get("bus", 0), a.get("target", 0), a.get("unit", 0))
        try:
            space.reserve(key, dev)
        except Collision as exc:
            text = "controller='{}' bus='{}' target='{}' unit='{}'".format(*key)
            self._error(dev, "drive-collision", f"duplicate drive address {text}", exc.owner)
        except InvalidAddress:
            pass  # beyond what any controller has: the drive rules report what libvirt does

    def _duplicate_targets(self) -> None:
        """Disks sharing a target name: libvirt's message, naming the disk that had it first."""
        errors = drive.duplicate_targets(self.domain)
        pairs = drive.duplicate_target_pairs(self.domain)
        for e, (first, _) in zip(errors, pairs, strict=True):
            related = (Related(first.line, first.describe()),)
            self._add(e.replace(code="disk-target-collision", related=related))

    # ---------------------------------------------------------------- virtio-serial
    def _virtio_serial(self) -> None:
        space = AddressSpace.from_dims(("controller", 0, _UINT), ("port", 0, _UINT))
        nports: dict[int, int] = {}
        for c in self.domain.controllers("virtio-serial"):
            idx, n = c.settled_index, _serial_ports(c)
            if idx in nports or n <= 0:
                continue
            nports[idx] = n
            space.add_pool([(idx, idx), (0, n - 1)], name=f"virtio-serial {idx}")
        for dev in self.domain.walk():
            if dev.addr_type != "virtio-serial" or dev.addr.get("port", 0) == 0:
                continue
            if dev.tag == "console" and dev.child_get("target", "type") == "virtio":
                continue  # libvirt never reserves a virtio console's port
            c, p = dev.addr.get("controller", 0), dev.addr["port"]
            try:
                space.reserve((c, p), dev)
            except Collision as exc:
                self._error(
                    dev,
                    "virtio-serial-collision",
                    f"virtio serial port {p} on controller {c} is already occupied",
                    exc.owner,
                )
            except (OutOfPool, InvalidAddress):
                if c not in nports:
                    message = f"virtio serial controller {c} is missing"
                else:
                    message = f"virtio serial controller {c} does not have port {p}"
                self._error(dev, "virtio-serial-range", message)

    # ---------------------------------------------------------------- smartcards
    def _smartcards(self) -> None:
        space = AddressSpace.from_dims(("controller", 0, _UINT), ("slot", 0, _UINT))
        space.add_pool([(0, _UINT), (0, _UINT)])
        for card in self.domain.lists["smartcard"]:
            if card.addr_type != "ccid":
                continue
            key = (card.addr.get("controller", 0), card.addr.get("slot", 0))
            try:
                space.reserve(key, card)
            except Collision as exc:
                self._error(
                    card,
                    "ccid-collision",
                    "this QEMU binary lacks multiple smartcard support: ccid "
                    f"controller='{key[0]}' slot='{key[1]}' is used twice",
                    exc.owner,
                )
            except InvalidAddress:
                pass

    # ---------------------------------------------------------------- USB
    def _usb(self) -> None:
        self._errors(_UsbCheck(self.domain).run())

    # ---------------------------------------------------------------- DIMM
    def _dimm(self) -> None:
        max_mem = self.domain._find(self.domain.root, "maxMemory")
        mems = [m for m in self.domain.lists["memory"] if m.get("model") in ("dimm", "nvdimm")]
        if max_mem is None or not mems:
            return
        text = max_mem.get("slots", "0")
        nslots = int(text) if text.isdigit() else 0
        space = AddressSpace.from_dims(("slot", 0, _UINT))
        if nslots > 0:
            space.add_pool([(0, min(nslots, _UINT + 1) - 1)])
        for m in mems:
            if m.addr_type != "dimm":
                continue
            slot = m.addr.get("slot", 0)
            try:
                space.reserve((slot,), m)
            except Collision as exc:
                self._error(
                    m,
                    "dimm-collision",
                    f"memory device slot '{slot}' is already being used by another memory device",
                    exc.owner,
                )
            except (OutOfPool, InvalidAddress):
                self._error(
                    m, "dimm-range", f"memory device slot '{slot}' exceeds slots count '{nslots}'"
                )


class _UsbCheck(UsbPass):
    """libvirt's USB pass, with a duplicate port naming the device that holds it."""

    def __init__(self, domain: Domain) -> None:
        super().__init__(domain)
        self.holders: dict[tuple[int, tuple[int, ...]], Device] = {}

    def _reserve(self, d: Device, *, hub: bool) -> None:
        before = len(self.errors)
        key = (d.addr.get("bus", 0), tuple(d.addr["port"]))
        super()._reserve(d, hub=hub)
        if len(self.errors) == before:
            self.holders[key] = d
            return
        holder = self.holders.get(key)
        if holder is not None and self.errors[-1].message.startswith("Duplicate USB"):
            self.errors[-1] = d.error(
                f"{self.errors[-1].message} (already used by {_name(holder)})"
            )


# ---------------------------------------------------------------------------- helpers


def _name(dev: Device) -> str:
    where = f" at line {dev.line}" if dev.line is not None else " (added by libvirt)"
    return dev.describe() + where


def _whole_space(kind: AddressKind) -> AddressSpace:
    space = AddressSpace(kind)
    space.add_pool(kind.bounds)
    return space


def _serial_ports(ctrl: Device) -> int:
    text = ctrl.get("ports")
    if text is not None and text.isdigit():
        return int(text)
    return vserial.DEFAULT_PORTS


def _fixed_place(c: Device, family: str) -> tuple[PciAddr, str] | None:
    """Where libvirt pins controller ``c`` on this machine family, and its message if not there."""
    ctype, idx = c.get("type"), c.index
    if family == "pc" and ctype == "ide" and idx == 0:
        return (0, 0, 1, 1), "Primary IDE controller must have PCI address 0:0:1.1"
    if family == "pc" and ctype == "usb" and idx == 0 and controller_model(c) == "piix3-uhci":
        return (0, 0, 1, 2), "PIIX3 USB controller at index 0 must have PCI address 0:0:1.2"
    if family == "q35" and ctype == "sata" and idx == 0:
        return (0, 0, 0x1F, 2), "Primary SATA controller must have PCI address 0:0:1f.2"
    return None
