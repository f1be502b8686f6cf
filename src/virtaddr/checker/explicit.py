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

from virtaddr.checker.fit import address_type_errors
from virtaddr.errors import Collision, InvalidAddress, OutOfPool
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import ERROR, Problem, Related
from virtaddr.passes import defaults, drive, other, vserial
from virtaddr.passes.defaults import ROOT_MODELS, controller_model
from virtaddr.passes.pci import PciPass
from virtaddr.passes.pci_buses import PciAddr, PciBusSet, format_pci
from virtaddr.passes.pci_flags import PCI_DEVICE, PCIE_DEVICE, UPSTREAM_PORT
from virtaddr.passes.refusal import Refusal
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
        self._errors(drive.check_drive_addresses(d, duplicates=False))
        self._errors(e for x in d.lists["disk"] if (e := drive.partition_target_error(x)))
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
        """Explicit and name-derived disk addresses per drive bus, then explicit SCSI hostdevs."""
        spaces = drive.DriveSpaces()
        for d in self.domain.lists["disk"]:
            if d.bus in _DRIVE_BUSES and d.addr_type == "drive":
                self._drive_reserve(spaces, d.bus, d)
        for h in self.domain.lists["hostdev"]:
            if id(h) in explicit and h.addr_type == "drive" and h.get("type") == "scsi":
                self._drive_reserve(spaces, "scsi", h)

    def _drive_reserve(self, spaces: drive.DriveSpaces, bus: str, dev: Device) -> None:
        a = dev.addr
        key = (a.get("controller", 0), a.get("bus", 0), a.get("target", 0), a.get("unit", 0))
        try:
            holder = spaces.reserve(bus, key, dev)
        except InvalidAddress:
            return  # beyond what libvirt reads: refused when it reads the address
        if holder is not None:
            text = "controller='{}' bus='{}' target='{}' unit='{}'".format(*key)
            self._error(dev, "drive-collision", f"duplicate drive address {text}", holder)

    def _duplicate_targets(self) -> None:
        """Disks sharing a target name: libvirt's message, naming the disk that had it first."""
        errors = drive.duplicate_targets(self.domain)
        pairs = drive.duplicate_target_pairs(self.domain)
        for e, (first, _) in zip(errors, pairs, strict=True):
            related = (Related(first.line, first.describe()),)
            self._add(e.replace(code="disk-target-collision", related=related))

    # ---------------------------------------------------------------- virtio-serial
    def _virtio_serial(self) -> None:
        nports: dict[int, int] = {}
        for c in self.domain.controllers("virtio-serial"):
            idx, n = c.settled_index, vserial.controller_ports(c)
            if idx in nports or n <= 0:
                continue
            nports[idx] = n
        ports = vserial.VirtioSerialPorts(nports)  # the reservations and words of the pass
        for dev in self.domain.walk():
            if dev.addr_type != "virtio-serial" or dev.addr.get("port", 0) == 0:
                continue
            if dev.tag == "console" and dev.child_get("target", "type") == "virtio":
                continue  # libvirt never reserves a virtio console's port
            c, p = dev.addr.get("controller", 0), dev.addr["port"]
            try:
                message = ports.reserve(c, p, dev)
            except Collision as exc:
                self._error(
                    dev, "virtio-serial-collision", vserial.collision_message(c, p), exc.owner
                )
                continue
            if message is not None:
                self._error(dev, "virtio-serial-range", message)

    # ---------------------------------------------------------------- smartcards
    def _smartcards(self) -> None:
        self._refusals(other.reserve_smartcards(self.domain)[1])

    # ---------------------------------------------------------------- USB
    def _usb(self) -> None:
        self._errors(_UsbCheck(self.domain).run())

    # ---------------------------------------------------------------- DIMM
    def _dimm(self) -> None:
        found = other.dimm_devices(self.domain)
        if found is not None and found[0]:
            self._refusals(other.reserve_dimm_slots(*found)[1])

    def _refusals(self, refusals: Iterable[Refusal]) -> None:
        """What reserving explicit addresses refused, with check's codes and the holders."""
        for r in refusals:
            self._error(r.device, r.code, r.message, r.holder)


class _UsbCheck(UsbPass):
    """libvirt's USB pass, with a duplicate port naming the device that holds it."""

    def _duplicate(self, d: Device, message: str, holder: Hashable) -> Problem:
        if isinstance(holder, Device):
            message += f" (already used by {_name(holder)})"
        return d.error(message)


# ---------------------------------------------------------------------------- helpers


def _name(dev: Device) -> str:
    where = f" at line {dev.line}" if dev.line is not None else " (added by libvirt)"
    return dev.describe() + where


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
