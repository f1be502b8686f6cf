"""PCI address assignment as libvirt's QEMU driver does it: a dry run that sizes the topology,
then the final placement on the grown topology."""

from __future__ import annotations

from collections.abc import Iterator

from virtaddr.errors import OutOfPool
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.machine import ARM_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import ROOT_MODELS, USB2_MODELS, add_controller, controller_model
from virtaddr.passes.pci_buses import PciAddr, PciBusSet, format_pci
from virtaddr.passes.pci_flags import (
    AUTOASSIGN,
    BUS_MODELS,
    CONTROLLER_FLAGS,
    DMI_TO_PCI,
    DOWNSTREAM_PORT,
    INTEGRATED,
    MODEL_NAMES,
    PCI_BRIDGE,
    PCI_DEVICE,
    PCI_EXPANDER,
    PCIE_DEVICE,
    PCIE_EXPANDER,
    PCIE_TO_PCI,
    ROOT_PORT,
    UPSTREAM_PORT,
    Flags,
    first_type_name,
    libvirt_flags_value,
)
from virtaddr.passes.spapr_phb import fill_phb_defaults
from virtaddr.passes.usb import is_mtp_filesystem, is_usb_net
from virtaddr.passes.versions import LibvirtRules, rules_for
from virtaddr.passes.zpci import ZpciIds

_USB2_FUNCTION = {"ich9-uhci1": 0, "ich9-uhci2": 1, "ich9-uhci3": 2, "ich9-ehci1": 7}


class PlacementFailed(Exception):
    """Stops a pass at the first error, as libvirt does."""


class PciPass:
    """Both passes over one domain; errors accumulate in ``errors``."""

    def __init__(self, domain: Domain, rules: LibvirtRules | None = None) -> None:
        self.domain = domain
        self.rules = rules = rules or rules_for()
        self.q35 = domain.machine.is_q35
        family = domain.machine.family
        # pcie-root machines (q35, ARM/RISC-V virt); pSeries grows by PHBs (pci-root buses)
        self.pcie = domain.machine.has_pcie_root
        self.pseries = family == "pseries"
        self.zpci = ZpciIds(domain, rules.zpci_for_added_bridges) if family == "s390-ccw" else None
        self.flags = Flags(pcie=self.pcie)
        self.errors: list[Problem] = []
        self.dry = True
        self.buses = PciBusSet()
        flags_of = self.flags.of
        for d in domain.walk():
            d.pci_flags = flags_of(d)

    # ---------------------------------------------------------------- driver
    def run(self) -> list[Problem]:
        try:
            if not self.domain.machine.has_pci:
                self._no_pci_buses()
                return self.errors
            if not self._pci_controllers():  # isapc, microvm: PCI, but no PCI root
                self._no_pci_buses()
                for dev in self._placement_list()[0]:
                    raise self._fail(dev, "No PCI buses available")
                return self.errors
            self._check_controllers()
            self._dry_run()
            self._final_run()
        except PlacementFailed:
            pass
        return self.errors

    def _fail(self, dev: Device | None, message: str) -> PlacementFailed:
        err = dev.error(message) if dev is not None else self.domain.error(message)
        self.errors.append(err)
        return PlacementFailed()

    def _pci_controllers(self) -> list[Device]:
        return self.domain.controllers("pci")

    def _max_index(self) -> int:
        return max((c.settled_index for c in self._pci_controllers()), default=0)

    def _check_controllers(self) -> None:
        for c in self._pci_controllers():
            model = controller_model(c)
            if model in ROOT_MODELS:
                if c.index != 0 and not (self.pseries and model == "pci-root"):
                    raise self._fail(c, "pci-root and pcie-root controllers should have index 0")
                if c.addr_type is not None:
                    raise self._fail(
                        c, "pci-root and pcie-root controllers should not have an address"
                    )
            elif model not in BUS_MODELS:
                raise self._fail(c, f"unknown PCI controller model '{model}'")
            machine = self.domain.machine
            if model == "pci-expander-bus" and not (machine.is_x86 and machine.is_i440fx):
                raise self._fail(
                    c, "pci-expander-bus controllers are only supported on 440fx-based machinetypes"
                )
            arm_virt = machine.family == "virt" and machine.arch in ARM_ARCHES
            if model == "pcie-expander-bus" and not (self.q35 or arm_virt):
                raise self._fail(
                    c, "pcie-expander-bus controllers are not supported with this machine type"
                )
            if c.settled_index > 255:
                raise self._fail(c, f"PCI controller index {c.index} too high, maximum is 255")

    def _build(self, nbuses: int, by_index: dict[int, Device] | None = None) -> None:
        """Buses 0 to ``nbuses - 1``, of the model of their controller (``by_index``, when the
        caller has it already) or of the default one."""
        self.buses = PciBusSet()
        default = "pcie-root-port" if self.pcie else "pci-bridge"
        if self.pseries:
            default = "pci-root"
        ctrls = self._pci_by_index() if by_index is None else by_index
        models: list[str] = []
        for i in range(nbuses):
            ctrl = ctrls.get(i)
            models.append((controller_model(ctrl) if ctrl is not None else None) or default)
        self.buses.add_buses(models)

    def _pci_by_index(self) -> dict[int, Device]:
        """The PCI controllers by index (the first of each, as ``Domain.controller`` finds)."""
        return _first_by_index(self._pci_controllers())

    def _dry_run(self) -> None:
        self.dry = True
        declared = self._pci_by_index()  # the run adds buses, not controllers, until the end
        max_idx = max(declared, default=0)
        self._build(max_idx + 1, declared)
        self._collect_explicit()
        self._fixed_addresses()
        if not self.pcie and not self.buses.fully_used():
            self._reserve_next(None, PCI_DEVICE | AUTOASSIGN)
        self._place_all()
        if max_idx <= 0 and self.buses.nbuses > max_idx + 1 and self.pcie:
            self._reserve_next(None, PCIE_DEVICE | AUTOASSIGN)
        buses = self.buses
        for i in range(1, buses.nbuses):
            if i in declared:
                continue
            model = buses.buses[i].model
            ctrl = add_controller(self.domain, "pci", i, model)
            if model in ROOT_MODELS:
                continue
            ctrl.pci_flags = flags = CONTROLLER_FLAGS[model]
            if buses.find_free(flags, owner=ctrl) is None:
                raise self._fail(
                    ctrl,
                    f"a PCI slot is needed to connect a PCI controller model='{model}', "
                    "but none is available, and it cannot be automatically added",
                )
            if self.zpci is not None and (error := self.zpci.assign_added(ctrl)):
                raise self._fail(ctrl, error.message)

    def _final_run(self) -> None:
        self.dry = False
        ctrls = self._pci_controllers()  # the final run adds none
        by_index = _first_by_index(ctrls)
        self._build(max(by_index, default=0) + 1, by_index)
        self._collect_explicit()
        self._fixed_addresses()
        self._place_all()
        if self.zpci is not None:
            self.zpci.assign_placed()
        self._mark_multifunction()
        self._fill_controller_defaults(ctrls)

    def _no_pci_buses(self) -> None:
        """A machine without PCI (vexpress): PCI devices get no address; explicit ones fail."""
        for d in self.domain.walk():
            if d.addr_type == "pci" and not d.pci_wanted():
                raise self._fail(d, "No PCI buses available")

    # ---------------------------------------------------------------- reservation
    def _grow(self, dev: Device | None, flags: int, wanted_bus: int) -> tuple[int, bool]:
        """Add buses up to ``wanted_bus`` as libvirt does; return (designated bus, bumped)."""
        buses = self.buses
        first = len(buses.buses)
        add = wanted_bus - first + 1
        if flags & PCI_DEVICE and self.pseries:
            for _ in range(add):
                buses.add_bus("pci-root")
            return first, False
        if flags & PCI_DEVICE:
            layer = not any(b.accepts & PCI_BRIDGE for b in buses.buses)
            bumped = False
            if layer:
                if add == 1:
                    add, bumped = 2, True
                buses.add_bus("pcie-root-port", accepts=PCIE_TO_PCI)
                buses.add_bus("pcie-to-pci-bridge")
                for _ in range(add - 2):
                    buses.add_bus("pci-bridge")
                return first + 1, bumped
            for _ in range(add):
                buses.add_bus("pci-bridge")
            return first, False
        if flags & (PCIE_DEVICE | UPSTREAM_PORT):
            for _ in range(add):
                buses.add_bus("pcie-root-port")
            return first, False
        raise self._fail(dev, self._no_slot_message(dev, flags))

    def _no_slot_message(self, dev: Device | None, flags: int) -> str:
        # virDomainPCIControllerConnectTypeToModel: flags naming a controller name it
        for bit in (ROOT_PORT, UPSTREAM_PORT, DOWNSTREAM_PORT, DMI_TO_PCI, PCI_EXPANDER,
                    PCIE_EXPANDER, PCI_BRIDGE):  # fmt: skip
            if flags & bit:
                return (
                    "a PCI slot is needed to connect a PCI controller "
                    f"model='{first_type_name(bit)}', but none is available, and it cannot be "
                    "automatically added"
                )
        value = libvirt_flags_value(flags)
        return f"Cannot automatically add a new PCI bus for a device with connect flags {value:02x}"

    def _reserve_next(self, dev: Device | None, flags: int, function: int | None = None) -> PciAddr:
        """Reserve libvirt's next address for ``flags`` (growing the buses in the dry run)."""
        owner = dev if dev is not None else "reserved"
        addr = self.buses.find_free(flags, function, owner=owner)
        if addr is None:
            addr = self._reserve_when_full(dev, flags, function)
        return addr

    def _reserve_when_full(
        self, dev: Device | None, flags: int, function: int | None = None
    ) -> PciAddr:
        """No address is free for ``flags``: in the dry run, grow the buses and reserve the
        first address of the bus added; in the final run, fail."""
        if not self.dry:
            raise self._fail(dev, "No more available PCI slots")
        buses = self.buses
        bus, _ = self._grow(dev, flags, len(buses.buses))
        addr = (0, bus, buses.buses[bus].rules.min_slot, function or 0)
        buses.reserve_free(addr, flags, dev if dev is not None else "reserved")
        return addr

    def _place(self, dev: Device, flags: int, function: int | None = None) -> PciAddr:
        addr = self._reserve_next(dev, flags, function)
        if not self.dry:
            _set_pci(dev, addr)
        return addr

    # ---------------------------------------------------------------- explicit addresses
    def _skip_collect(self, d: Device) -> bool:
        if self.pcie or d.tag != "controller":
            return False
        a = d.pci
        if a is None or a[:3] != (0, 0, 1):
            return False
        ctype, idx = d.get("type"), d.index
        if ctype == "ide" and idx == 0 and a[3] == 1:
            return True
        return ctype == "usb" and idx == 0 and controller_model(d) == "piix3-uhci" and a[3] == 2

    def _collect_explicit(self) -> None:
        for d in self.domain.walk():
            if d.addr_type != "pci" or d.pci_wanted() or self._skip_collect(d):
                continue
            if d.tag == "controller" and controller_model(d) in ROOT_MODELS:
                continue
            flags = d.pci_flags or PCI_DEVICE
            addr = d.pci
            assert addr is not None
            if addr[0] != 0:
                raise self._fail(
                    d, f"Invalid PCI address {format_pci(addr)}. Only PCI domain 0 is available"
                )
            if addr[1] >= self.buses.nbuses:
                if self.dry and flags & (PCI_DEVICE | PCIE_DEVICE | UPSTREAM_PORT):
                    _, bumped = self._grow(d, flags, addr[1])
                    if bumped:
                        d.addr["bus"] = addr[1] + 1
                        d.addr_dirty = True
                        addr = d.pci
                        assert addr is not None
                else:
                    raise self._fail(
                        d,
                        f"Invalid PCI address {format_pci(addr)}. "
                        f"Only PCI buses up to {self.buses.nbuses - 1} are available",
                    )
            self._check_explicit(d, addr, flags)
            message = self.buses.reserve_at(addr, flags, d)
            if message:
                raise self._fail(d, message)
        if self.zpci is not None:
            error = self.zpci.collect()
            if error is not None:
                self.errors.append(error)
                raise PlacementFailed()

    def _check_explicit(self, d: Device, addr: PciAddr, flags: int) -> None:
        bus = self.buses.buses[addr[1]]
        if flags & INTEGRATED and addr[1] != 0:
            raise self._fail(
                d,
                f"The device at PCI address {format_pci(addr)} needs to be an integrated "
                "device (bus=0)",
            )
        if not self.buses.compatible_explicit(flags, bus):
            raise self._fail(
                d,
                f"The device at PCI address {format_pci(addr)} cannot be plugged into the PCI "
                f"controller with index='{addr[1]}'. It requires a controller that accepts a "
                f"{first_type_name(flags)}.",
            )
        rules = bus.rules
        if addr[2] < rules.min_slot:
            raise self._fail(
                d, f"Invalid PCI address {format_pci(addr)}. slot must be >= {rules.min_slot}"
            )
        if addr[2] > rules.max_slot:
            raise self._fail(
                d, f"Invalid PCI address {format_pci(addr)}. slot must be <= {rules.max_slot}"
            )

    # ---------------------------------------------------------------- hooks for `check`
    def build_declared_buses(self) -> None:
        """The buses the PCI controllers declare, as the dry run starts (nothing placed)."""
        self._build(self._max_index() + 1)

    def collects(self, d: Device) -> bool:
        """Whether the explicit-address collection reserves ``d``'s address itself."""
        return not self._skip_collect(d)

    def explicit_error(self, d: Device, addr: PciAddr, flags: int) -> Problem | None:
        """libvirt's objection to ``d`` explicitly at ``addr`` on the current buses, if any."""
        try:
            self._check_explicit(d, addr, flags)
        except PlacementFailed:
            return self.errors.pop()
        return None

    # ---------------------------------------------------------------- chipset
    def _set_fixed(
        self, d: Device, addr: PciAddr, *, reserve: bool, multifunction: bool = False
    ) -> None:
        _set_pci(d, addr, multifunction=multifunction)
        if reserve:
            message = self.buses.reserve_at(addr, d.pci_flags or PCI_DEVICE, d)
            if message:
                raise self._fail(d, message)

    def _reserve_chipset(self, addr: PciAddr) -> None:
        message = self.buses.reserve_at(addr, PCI_DEVICE, "chipset")
        if message:
            owner = self.buses.owner(addr)
            raise self._fail(owner if isinstance(owner, Device) else None, message)

    def _fixed_addresses(self) -> None:
        if self.q35:
            self._fixed_q35()
        elif self.domain.machine.family == "pc":
            self._fixed_pc()

    def _fixed_pc(self) -> None:
        for c in self.domain.lists["controller"]:
            ctype, idx = c.get("type"), c.index
            if ctype == "ide" and idx == 0:
                want, what = (0, 0, 1, 1), "Primary IDE controller must have PCI address 0:0:1.1"
            elif ctype == "usb" and idx == 0 and controller_model(c) == "piix3-uhci":
                want, what = (
                    (0, 0, 1, 2),
                    "PIIX3 USB controller at index 0 must have PCI address 0:0:1.2",
                )
            else:
                continue
            if c.addr_type == "pci" and not c.pci_wanted():
                if c.pci != want:
                    raise self._fail(c, what)
                self._set_fixed_keep(c, want)
            elif c.addr_type in (None, "pci"):
                self._set_fixed(c, want, reserve=True)
        self._reserve_chipset((0, 0, 1, 0))
        self._reserve_chipset((0, 0, 1, 3))
        video = self._primary_video()
        if video is not None:
            if not self.buses.slot_used(0, 2):
                self._set_fixed(video, (0, 0, 2, 0), reserve=True)
            else:
                self._place(video, video.pci_flags)

    def _set_fixed_keep(self, d: Device, addr: PciAddr) -> None:
        message = self.buses.reserve_at(addr, d.pci_flags or PCI_DEVICE, d)
        if message:
            raise self._fail(d, message)

    def _fixed_q35(self) -> None:
        for c in self.domain.lists["controller"]:
            ctype = c.get("type")
            if ctype == "sata" and c.index == 0:
                if c.addr_type == "pci" and not c.pci_wanted():
                    if c.pci != (0, 0, 0x1F, 2):
                        raise self._fail(
                            c, "Primary SATA controller must have PCI address 0:0:1f.2"
                        )
                elif c.addr_type in (None, "pci"):
                    self._set_fixed(c, (0, 0, 0x1F, 2), reserve=False)
            elif ctype == "usb" and c.addr_type is None and controller_model(c) == "ich9-uhci1":
                for slot in (0x1D, 0x1A):
                    if not self.buses.slot_used(0, slot):
                        self._set_fixed(c, (0, 0, slot, 0), reserve=True, multifunction=True)
                        break
            elif (
                ctype == "pci"
                and c.addr_type is None
                and controller_model(c) == "dmi-to-pci-bridge"
                and not self.buses.slot_used(0, 0x1E)
            ):
                self._set_fixed(c, (0, 0, 0x1E, 0), reserve=True)
        self._reserve_chipset((0, 0, 0x1F, 0))
        self._reserve_chipset((0, 0, 0x1F, 3))
        video = self._primary_video()
        if video is not None:
            if not self.buses.slot_used(0, 1):
                self._set_fixed(video, (0, 0, 1, 0), reserve=True)
            else:
                self._place(video, video.pci_flags)
        if not self.buses.slot_used(0, 0x1B):
            for s in self.domain.lists["sound"]:
                if s.get("model") == "ich9" and s.pci_wanted():
                    self._set_fixed(s, (0, 0, 0x1B, 0), reserve=True)
                    break

    def _primary_video(self) -> Device | None:
        videos = self.domain.lists["video"]
        if not videos:
            return None
        v = videos[0]
        if v.model in ("none", "ramfb") or not v.pci_wanted():
            return None
        if not v.pci_flags:
            return None
        return v

    # ---------------------------------------------------------------- automatic placement
    def _place_all(self) -> None:
        devices, usb2, stop = self._placement_list()
        find_free, dry = self.buses.find_free, self.dry
        for dev in devices:
            flags = dev.pci_flags
            if not flags:
                raise self._fail(dev, self._no_slot_message(dev, flags))
            if usb2 and dev in usb2:
                self._place_usb2(dev, flags)
                continue
            addr = find_free(flags, owner=dev)  # (_place, inlined: hundreds of devices)
            if addr is None:
                addr = self._reserve_when_full(dev, flags)
            if not dry:
                _set_pci(dev, addr)
        if stop is not None:
            raise self._fail(stop, _virtio_disk_message(stop))

    def _place_usb2(self, c: Device, flags: int) -> None:
        model = controller_model(c)
        fn = _USB2_FUNCTION[model or ""]
        for other in self.domain.controllers("usb"):
            if other is c or other.index != c.index:
                continue
            if controller_model(other) not in USB2_MODELS or other.addr_type != "pci":
                continue
            if other.pci_wanted():
                continue
            oa = other.pci
            assert oa is not None
            addr = (0, oa[1], oa[2], fn)
            message = self.buses.reserve_at(addr, flags, c)
            if message:
                raise self._fail(c, message)
            break
        else:
            addr = self._reserve_next(c, flags, fn)
        if not self.dry:
            _set_pci(c, addr, multifunction=model == "ich9-uhci1")

    def _placement_order(self) -> Iterator[tuple[Device, int]]:
        """The devices to place automatically and their flags, in libvirt's order; fails where
        libvirt stops at a virtio disk with an address of another type."""
        devices, _, stop = self._placement_list()
        for d in devices:
            yield d, d.pci_flags
        if stop is not None:
            raise self._fail(stop, _virtio_disk_message(stop))

    def _placement_list(self) -> tuple[list[Device], set[Device], Device | None]:
        """The devices of :meth:`_placement_order`, the USB2 controllers among them (placed as
        companions), and the virtio disk that stops the order (if any).

        Whether a device is placed does not depend on the placement of those before it, so the
        list can be made first; the pass places the devices listed, then fails at the disk.
        """
        lists = self.domain.lists
        pci_ctrls: list[Device] = []
        other_ctrls: list[Device] = []
        usb2: set[Device] = set()
        for c in lists["controller"]:
            if c.addr_type is not None and not c.pci_wanted():  # (most have none: no call)
                continue
            if c.get("type") == "pci":
                model = controller_model(c)
                if model not in ROOT_MODELS:
                    pci_ctrls.append(c)
                    if model in USB2_MODELS:
                        usb2.add(c)
            elif self._other_controller(c):
                other_ctrls.append(c)
                if controller_model(c) in USB2_MODELS:
                    usb2.add(c)
        order = pci_ctrls
        usb_kinds = self.rules.usb_net_and_mtp  # USB devices, not PCI ones
        order += _wanted(
            [f for f in lists["filesystem"] if not (usb_kinds and is_mtp_filesystem(f))]
        )
        order += _wanted(
            [
                n
                for n in lists["net"]
                if n.get("type") != "hostdev" and not (usb_kinds and is_usb_net(n))
            ]
        )
        order += _wanted(
            [s for s in lists["sound"] if s.get("model") not in ("sb16", "pcspk", "usb")]
        )
        order += other_ctrls
        for d in lists["disk"]:
            if d.bus != "virtio":
                continue
            atype = d.addr_type
            if atype in _NOT_VIRTIO_DISK_ADDRESSES:
                return order, usb2, d
            if atype is None or d.pci_wanted():  # most have no address: no call
                order.append(d)
        order += _wanted(lists["hostdev"], flagged=True)
        order += _wanted(lists["memballoon"], flagged=True)
        order += _wanted(lists["rng"], flagged=True)
        order += _wanted([w for w in lists["watchdog"] if w.get("model") == "i6300esb"])
        order += _wanted(lists["video"], flagged=True)
        order += _wanted(lists["shmem"])
        order += _wanted([i for i in lists["input"] if i.bus == "virtio"])
        order += _wanted(
            [s for s in lists["serial"] if s.child_get("target", "type") == "pci-serial"]
        )
        order += _wanted([i for i in lists["iommu"] if i.get("model") == "virtio"])
        order += _wanted(lists["vsock"])
        order += _wanted(
            [m for m in lists["memory"] if m.get("model") in ("virtio-pmem", "virtio-mem")]
        )
        order += _wanted([p for p in lists["panic"] if p.pci_flags])  # pvpanic (libvirt 11.3)
        return order, usb2, None

    def _other_controller(self, c: Device) -> bool:
        ctype = c.get("type")
        if ctype in ("pci", "fdc", "ccid"):
            return False
        if ctype == "usb" and controller_model(c) == "none":
            return False
        if ctype == "ide" and c.index == 0:
            return False
        if ctype == "scsi" and controller_model(c) == "ncr53c90":
            return False
        return bool(c.pci_flags)

    # ---------------------------------------------------------------- after placement
    def _mark_multifunction(self) -> None:
        function0: dict[tuple[int, int, int], Device] = {}
        others: list[tuple[int, int, int]] = []
        for d in self.domain.walk():
            if d.addr_type != "pci":
                continue
            a = d.addr  # as Device.pci reads it
            slot = (a.get("domain", 0), a.get("bus", 0), a.get("slot", 0))
            if a.get("function", 0) == 0:
                function0[slot] = d
            else:
                others.append(slot)
        for slot in others:
            first = function0.get(slot)
            if first is not None and first.addr.get("multifunction") not in ("on", "off"):
                first.addr["multifunction"] = "on"
                first.addr_dirty = True

    def _fill_controller_defaults(self, ctrls: list[Device]) -> None:
        """libvirt's defaults for the PCI controllers ``ctrls``: model names, targets."""
        if self.pseries:
            error = fill_phb_defaults(ctrls)
            if error is not None:
                self.errors.append(error)
                raise PlacementFailed()
        expanders: list[Device] = []
        bridges: list[Device] = []
        for c in ctrls:
            model = controller_model(c)
            if model in ROOT_MODELS or model is None:
                continue
            if model in ("pci-expander-bus", "pcie-expander-bus"):
                expanders.append(c)
            elif model == "pci-bridge":
                bridges.append(c)
            target = c.filled_target
            if target is None:
                target = c.filled_target = {}
            added = c.elem is None  # a controller the pass added: nothing written (no call)
            if added or c.child_get("model", "name") is None:
                c.model_name = MODEL_NAMES[model]
            written = {} if added else _target_attrs(c)
            idx = c.index
            if model == "pci-bridge":
                if "chassisNr" not in written:
                    target["chassisNr"] = str(idx)
            elif model in ("pcie-root-port", "pcie-switch-downstream-port"):
                a = c.pci
                if a is None:
                    continue
                if "chassis" not in written:
                    target["chassis"] = str(idx)
                if "port" not in written:
                    root = model == "pcie-root-port"
                    target["port"] = hex(a[2] * 8 + a[3] if root else a[2])
        for c in expanders:
            if "busNr" in _target_attrs(c) or "busNr" in (c.filled_target or {}):
                continue
            lowest = 256
            for o in ctrls:
                nr = _target_attrs(o).get("busNr") or (o.filled_target or {}).get("busNr")
                if nr is not None and nr.isdigit():
                    lowest = min(lowest, int(nr))
            if lowest <= 2:
                bus = c.pci[1] if c.pci is not None else 0
                raise self._fail(
                    c,
                    "No free busNr lower than current lowest busNr is available to auto-assign "
                    f"to bus {bus}. Must be manually assigned",
                )
            if c.filled_target is None:
                c.filled_target = {}
            c.filled_target["busNr"] = str(lowest - 2)
        for c in bridges:
            if c.pci is not None and c.settled_index <= c.pci[1]:
                idx = c.index
                raise self._fail(
                    c,
                    f"PCI controller at index {idx} (0x{idx:02x}) has bus='0x{c.pci[1]:02x}', "
                    "but index must be larger than bus",
                )


_NOT_VIRTIO_DISK_ADDRESSES = ("drive", "usb", "virtio-serial", "ccid", "spapr-vio", "dimm", "isa")


def _virtio_disk_message(d: Device) -> str:
    return f"virtio disk cannot have an address of type '{d.addr_type}'"


def _wanted(devs: list[Device], *, flagged: bool = False) -> list[Device]:
    """The devices of ``devs`` libvirt places (``flagged``: those with connect flags only)."""
    return [
        d for d in devs if (not flagged or d.pci_flags) and (d.addr_type is None or d.pci_wanted())
    ]


def _first_by_index(ctrls: list[Device]) -> dict[int, Device]:
    found: dict[int, Device] = {}
    for c in ctrls:
        found.setdefault(c.settled_index, c)
    return found


def _target_attrs(c: Device) -> dict[str, str]:
    t = c.child("target")
    return {str(k): str(v) for k, v in t.attrib.items()} if t is not None else {}


def _set_pci(dev: Device, addr: PciAddr, *, multifunction: bool = False) -> None:
    """Give ``dev`` the PCI address ``addr`` (a new dict, adopted: no copy)."""
    values: dict[str, int | str] = {
        "domain": addr[0], "bus": addr[1], "slot": addr[2], "function": addr[3]
    }  # fmt: skip
    if multifunction:
        values["multifunction"] = "on"
    dev.adopt_address("pci", values)


def assign_pci_addresses(domain: Domain, rules: LibvirtRules | None = None) -> list[Problem]:
    try:
        return PciPass(domain, rules).run()
    except OutOfPool as exc:  # an explicit address outside every bus's slot range
        return [domain.error(str(exc))]
