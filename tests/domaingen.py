"""Random x86_64 domains (hypothesis strategies) for the differential test against libvirt.

Every address kind libvirt's QEMU driver assigns on pc and q35 appears: PCI (explicit addresses
on bus 0 and behind user pci-bridges / pcie-root-ports, multifunction slots, explicit bridges and
root ports, several videos), drive (disks on ide/sata/scsi/fdc from their names or with explicit
addresses, SCSI hostdevs), virtio-serial (several controllers with small ``ports``, channels with
no, partial or full addresses, virtio consoles), USB (controllers of several models, inputs,
redirdevs, hubs, usb disks and hostdevs, explicit ports also behind explicit hubs, enough devices
to make libvirt add hubs), ccid (a smartcard) and dimm (memory devices under ``<maxMemory>``).

The generator avoids what libvirt would reject by construction: explicit PCI slots, drive
addresses, USB ports, virtio-serial ports and dimm slots are drawn from pools of free ones, and a
disk's target name is only used when the address libvirt derives from it is still free
(:func:`name_address`, the rules document's table). ``flavour`` picks what a domain has much of:
``mixed``, ``pci`` (big enough to grow the PCI topology), ``usb`` (hubs), ``drive`` and
``vserial`` (several controllers that overflow).

``libvirt`` (``"9.0"`` or ``"11.3"``) is the version the domain is for. Both get what 11.3 orders
differently from 9.0 (``../shared/docs/libvirt-11.3-differences.md``): controllers libvirt adds
(SCSI, SATA and virtio-serial ones named by a device's address, a SATA or AHCI controller for a
SATA disk) among written ones of other types, index-less ICH9 USB sets behind other controllers,
and several kinds of USB devices (inputs, disks, hostdevs, sounds, serials, a CCID) in one domain;
and, rarely, what 11.3 refuses (an empty USB cdrom, an ib700 watchdog on q35). With 11.3 also
what only 11.3 has: usb-net interfaces, MTP filesystems, virtio sounds and several watchdogs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from domainxml import (
    channel,
    controller,
    dimm,
    disk,
    domain,
    drive,
    filesystem,
    hostdev,
    interface,
    memory_dimm,
    pci,
    scsi_hostdev,
    simple,
    usb,
    usb_hostdev,
    usb_ich9_set,
    vserial,
)

__all__ = ["FLAVOURS", "MACHINES", "domains", "is_q35", "name_address"]

MACHINES = ["pc", "pc", "pc-i440fx-7.2", None, "q35", "q35", "q35", "q35", "q35", "pc-q35-7.2"]
NIC_MODELS = ["virtio", "e1000", "e1000e", "rtl8139", "virtio-transitional"]
VIDEO_MODELS = ["cirrus", "vga", "qxl", "virtio"]
SOUND_MODELS = ["ich6", "ich9", "ac97"]
FLAVOURS = ("mixed", "pci", "usb", "drive", "vserial")

# bus -> (units per bus, buses per controller): how libvirt turns a target name into an address
_NAME_LAYOUT = {"scsi": (7, 1), "ide": (2, 2), "sata": (6, 1), "fdc": (2, 1)}
# name indexes the generator uses per bus (IDE and FDC have one controller only)
_NAME_RANGE = {"scsi": 21, "ide": 4, "sata": 12, "fdc": 2}
_PREFIX = {"scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd", "fdc": "fd", "virtio": "vd"}
_USB_DEFAULT_PORTS = {"piix3-uhci": 2, "piix4-uhci": 2, "vt82c686b-uhci": 2, "ich9-ehci1": 6,
                      "ehci": 6, "pci-ohci": 3, "qemu-xhci": 4, "nec-xhci": 4}  # fmt: skip

DriveKey = tuple[int, int, int, int]


def is_q35(machine: str | None) -> bool:
    return machine is not None and (machine == "q35" or machine.startswith("pc-q35-"))


def drive_name(prefix: str, index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def name_address(bus: str, index: int) -> DriveKey:
    """(controller, bus, target, unit) libvirt derives from the name with this index."""
    units, buses = _NAME_LAYOUT[bus]
    per_ctrl = units * buses
    return (index // per_ctrl, (index % per_ctrl) // units, 0, index % units)


@dataclass
class _Builder:
    """State while drawing one domain: what is declared, and the pools of free addresses."""

    draw: st.DrawFn
    q35: bool
    devices: list[str] = field(default_factory=list)
    pci_free: dict[int, list[int]] = field(default_factory=dict)  # bus -> free slots
    names: dict[str, set[int]] = field(default_factory=dict)  # name prefix -> indexes used
    drive_used: dict[str, set[DriveKey]] = field(default_factory=dict)
    scsi_models: dict[int, str] = field(default_factory=dict)
    usb_free: list[tuple[int, str]] = field(default_factory=list)  # explicit USB ports
    usb_buses: list[int] = field(default_factory=list)
    usb_on: bool = True
    spice: bool = False
    vs_ports: dict[int, int] = field(default_factory=dict)  # virtio-serial controller -> ports
    vs_free: dict[int, list[int]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    videos: int = 0
    watchdog: bool = False
    smartcard: bool = False
    libvirt: str = "9.0"

    @property
    def newer(self) -> bool:
        """The devices and settings libvirt 11.3 has and 9.0 refuses are allowed."""
        return self.libvirt != "9.0"

    def count(self, what: str) -> int:
        n = self.counters.get(what, 0)
        self.counters[what] = n + 1
        return n

    def chance(self, one_in: int) -> bool:
        # the highest value, not the lowest: hypothesis favours simple (low) draws, and the
        # simple domain is the one without the extra (explicit address, ...)
        return self.draw(st.integers(1, one_in)) == one_in

    def pop(self, pool: list):  # type: ignore[no-untyped-def]
        return pool.pop(self.draw(st.integers(0, len(pool) - 1)))

    # ---------------------------------------------------------------- PCI

    def pci_address(self, bus0: bool = False) -> str | None:
        """An explicit PCI address for about a third of the devices, now and then on a bridge
        (``bus0``: only on bus 0)."""
        if not self.chance(3):
            return None
        # bus 0 keeps a few slots for what libvirt adds (bridges, root ports): when explicit
        # devices fill it, libvirt cannot place a pci-bridge and rejects the domain
        buses = [
            b
            for b, slots in self.pci_free.items()
            if len(slots) > (3 if b == 0 else 0) and (b == 0 or not bus0)
        ]
        if not buses:
            return None
        bus = 0 if 0 in buses and self.chance(2) else self.draw(st.sampled_from(buses))
        return pci(self.pop(self.pci_free[bus]), bus)

    def pci_slot(self) -> tuple[int, int] | None:
        """A whole free slot (bus, slot) that takes functions, for a multifunction group."""
        buses = [
            b
            for b, slots in self.pci_free.items()
            if len(slots) > (3 if b == 0 else 0) and not (self.q35 and b > 0)
        ]
        if not buses:
            return None
        bus = self.draw(st.sampled_from(buses))
        return bus, self.pop(self.pci_free[bus])

    # ---------------------------------------------------------------- drives

    def disk_name(self, prefix: str, bus: str | None, limit: int) -> tuple[str, bool]:
        """A free target name; for a drive bus one whose derived address is free too."""
        used = self.names.setdefault(prefix, set())
        taken = self.drive_used.setdefault(bus, set()) if bus in _NAME_LAYOUT else set()
        free = [
            i
            for i in range(limit)
            if i not in used and (bus not in _NAME_LAYOUT or name_address(bus, i) not in taken)
        ]
        if not free:
            return "", False
        index = self.draw(st.sampled_from(free))
        used.add(index)
        if bus in _NAME_LAYOUT:
            taken.add(name_address(bus, index))
        return drive_name(prefix, index), True

    def explicit_drive(self, bus: str) -> DriveKey | None:
        """A free explicit drive address of ``bus`` (valid for the controller it names)."""
        taken = self.drive_used.setdefault(bus, set())
        if bus == "scsi":
            c = self.draw(st.integers(0, 2))
            wide = self.scsi_models.get(c) == "virtio-scsi"
            target = self.draw(st.sampled_from([0, 0, 0, 1, 3])) if wide else 0
            units = range(13) if wide else range(7)
            pool = [(c, 0, target, u) for u in units]
        elif bus == "sata":
            pool = [(c, 0, 0, u) for c in range(3) for u in range(6)]
        elif bus == "ide":
            pool = [(0, b, 0, u) for b in range(2) for u in range(2)]
        else:
            pool = [(0, 0, 0, u) for u in range(2)]
        pool = [k for k in pool if k not in taken]
        if not pool:
            return None
        key: DriveKey = self.draw(st.sampled_from(pool))
        taken.add(key)
        return key

    def drive_disk(self, bus: str) -> None:
        prefix = _PREFIX[bus]
        device = "floppy" if bus == "fdc" else self.draw(st.sampled_from(["disk", "disk", "cdrom"]))
        if self.chance(3):
            key = self.explicit_drive(bus)
            if key is None:
                return
            # a name whose own derived address is not needed: any unused index far out
            used = self.names.setdefault(prefix, set())
            index = self.draw(st.sampled_from([i for i in range(30, 200) if i not in used]))
            used.add(index)
            c, b, t, u = key
            self.devices.append(
                disk(drive_name(prefix, index), bus, drive(c, b, u, t), None, device)
            )
            return
        name, ok = self.disk_name(prefix, bus, _NAME_RANGE[bus])
        if ok:
            self.devices.append(disk(name, bus, None, None, device))

    def scsi_hostdev(self) -> None:
        address = None
        if self.chance(3):
            key = self.explicit_drive("scsi")
            if key is None:
                return
            c, b, t, u = key
            address = drive(c, b, u, t)
        n = self.count("scsi-hostdev")
        self.devices.append(scsi_hostdev(n, iscsi=self.chance(2), address=address))

    # ---------------------------------------------------------------- USB

    def usb_port(self) -> tuple[int, str] | None:
        """A free explicit USB (bus, port path) for about a third of the devices."""
        if self.usb_free and self.chance(3):
            behind_hub = [i for i, (_bus, port) in enumerate(self.usb_free) if "." in port]
            if behind_hub and self.chance(2):
                return self.usb_free.pop(self.draw(st.sampled_from(behind_hub)))
            found: tuple[int, str] = self.pop(self.usb_free)
            return found
        return None

    def usb_address(self) -> str | None:
        where = self.usb_port()
        if where is None and self.usb_buses and self.chance(10):
            # a bus but no port: libvirt picks the port on that bus
            return f"<address type='usb' bus='{self.draw(st.sampled_from(self.usb_buses))}'/>"
        return usb(*where) if where else None

    def usb_device(self, kind: str) -> None:
        if not self.usb_on:
            return
        if kind == "usb-input":
            itype = self.draw(st.sampled_from(["tablet", "tablet", "keyboard", "mouse"]))
            self.devices.append(simple("input", f" type='{itype}' bus='usb'", self.usb_address()))
        elif kind == "redirdev":
            if self.spice:
                self.devices.append(
                    simple("redirdev", " bus='usb' type='spicevmc'", self.usb_address())
                )
        elif kind == "hub":
            where = self.usb_port()
            if where is not None and where[1].count(".") < 3:
                # an explicit hub: its 8 ports are free for explicit addresses too
                self.usb_free += [(where[0], f"{where[1]}.{q}") for q in range(1, 9)]
            self.devices.append(simple("hub", " type='usb'", usb(*where) if where else None))
            if where is not None and self.chance(2):  # a tablet at one of its ports
                bus, port = self.usb_free.pop(-self.draw(st.integers(1, 8)))
                self.devices.append(simple("input", " type='tablet' bus='usb'", usb(bus, port)))
        elif kind == "usb-disk":
            name, ok = self.disk_name("sd", "usb", 40)
            # now and then an empty cdrom: 9.0 takes it, 11.3 refuses it (rule 6)
            device = "cdrom" if self.chance(16) else "disk"
            if ok:
                self.devices.append(disk(name, "usb", self.usb_address(), None, device))
        elif kind == "usb-sound":
            self.devices.append(simple("sound", " model='usb'", self.usb_address()))
        elif kind == "usb-net":
            if self.newer:
                self.devices.append(
                    simple(
                        "interface", " type='user'", "<model type='usb-net'/>", self.usb_address()
                    )
                )
        elif kind == "mtp":
            if self.newer:
                n = self.count("mtp")
                body = (
                    "<driver type='mtp'/>",
                    f"<source dir='/srv/mtp{n}'/>",
                    f"<target dir='mtp{n}'/>",
                )
                self.devices.append(simple("filesystem", " type='mount'", *body))
        elif kind == "usb-hostdev":
            self.devices.append(usb_hostdev(0x100 + self.count("usb-hostdev"), self.usb_address()))
        elif kind == "smartcard":
            if not self.smartcard:
                self.smartcard = True
                attrs = " mode='passthrough' type='spicevmc'" if self.spice else " mode='host'"
                address = (
                    "<address type='ccid' controller='0' slot='0'/>" if self.chance(4) else None
                )
                self.devices.append(simple("smartcard", attrs, address))
                if self.chance(3):  # its ccid controller given, maybe with a USB port
                    self.devices.append(controller("ccid", None, 0, self.usb_address()))
        elif kind == "usb-serial":
            # at most 3, so that with a serial console's serial there are no more than 4 serials:
            # libvirt numbers the serials' target ports in order and rejects its own output
            # when an isa-serial got port 4 ("Maximum supported number of ISA serial ports")
            if self.count("usb-serial") < 3:
                target = "<target type='usb-serial'/>"
                self.devices.append(simple("serial", " type='pty'", target, self.usb_address()))
        else:  # pragma: no cover
            raise AssertionError(kind)

    # ---------------------------------------------------------------- virtio-serial

    def vserial_address(self) -> str | None:
        choice = self.draw(st.integers(0, 8))
        ctrls = sorted(self.vs_ports) or [0]
        if choice <= 3:
            return None
        if choice == 8:
            # a port on the next controller, which nobody wrote: libvirt adds it (and 11.3 puts
            # it before the written controllers of higher index, rule 1)
            new = max(self.vs_ports, default=-1) + 1
            if new > 3:
                return None
            self.vs_ports[new] = 31
            self.vs_free[new] = list(range(2, 31))
            return vserial(new, 0, 1)
        # a controller but no port (just the type: controller 0): only on a controller with the
        # default 31 ports, since libvirt does not add a controller when the one named is full
        roomy = [c for c in ctrls if self.vs_ports.get(c, 31) == 31]
        if choice == 4:
            return vserial() if 0 in roomy else None
        if choice == 5:
            if not roomy:
                return None
            return vserial(self.draw(st.sampled_from(roomy)), 0 if self.chance(2) else None)
        free = [(c, p) for c in ctrls for p in self.vs_free.get(c, [])]
        if not free:
            return None
        c, p = self.draw(st.sampled_from(free))
        self.vs_free[c].remove(p)
        return vserial(c, 0, p)

    def channel(self) -> None:
        if self.spice and self.chance(6) and not self.counters.get("spicevmc"):
            self.count("spicevmc")
            target = "<target type='virtio' name='com.redhat.spice.0'/>"
            self.devices.append(
                simple("channel", " type='spicevmc'", target, self.vserial_address())
            )
            return
        self.devices.append(
            channel(f"org.virtaddr.{self.count('channel')}", self.vserial_address())
        )


def _setup_controllers(b: _Builder, flavour: str) -> None:
    draw = b.draw
    # PCI buses for explicit addresses: bus 0, then user bridges / root ports
    b.pci_free[0] = list(draw(st.permutations(range(1, 0x1F) if b.q35 else range(2, 0x20))))
    bridges = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
    if b.q35 and bridges and b.chance(3):  # root ports sharing one multifunction slot
        slot = b.pop(b.pci_free[0])
        for i in range(1, bridges + 1):
            mf = "on" if i == 1 else None
            address = pci(slot, 0, i - 1, mf)
            b.devices.append(controller("pci", "pcie-root-port", i, address))
            b.pci_free[i] = [0]
    else:
        for i in range(1, bridges + 1):
            if b.q35:
                address = b.pci_address(bus0=True)
                b.devices.append(controller("pci", "pcie-root-port", i, address))
                b.pci_free[i] = [0]
                continue
            address = b.pci_address(bus0=True)
            if i > 1 and address is None and b.chance(2) and b.pci_free[i - 1]:
                address = pci(b.pop(b.pci_free[i - 1]), i - 1)  # nested behind the previous one
            b.devices.append(controller("pci", "pci-bridge", i, address))
            b.pci_free[i] = list(draw(st.permutations(range(1, 0x20))))

    # USB controllers; remember each bus's root ports for explicit addresses
    choices = ["default", "default", "piix3-uhci", "ich9", "ich9x2", "qemu-xhci", "nec-xhci",
               "two", "none", "other"]  # fmt: skip
    usb_choice = draw(st.sampled_from(choices))
    ports: dict[int, int] = {}
    if usb_choice == "default":
        ports[0] = 4 if b.q35 else 2
    elif usb_choice == "piix3-uhci":
        # on pc libvirt insists on 00:01.2 for it: no explicit address
        b.devices.append(controller("usb", "piix3-uhci", 0))
        ports[0] = 2
    elif usb_choice in ("ich9", "ich9x2"):
        at_1d = 0x1D in b.pci_free[0] and b.chance(3)  # the set at 00:1d.{0,1,2,7}
        if at_1d:
            b.pci_free[0].remove(0x1D)
        # without index now and then: 11.3 then re-sorts every controller (rule 1b)
        b.devices += usb_ich9_set(None if b.chance(3) else 0, addresses=at_1d)
        ports[0] = 6
        if usb_choice == "ich9x2":
            b.devices += usb_ich9_set(1)
            ports[1] = 6
    elif usb_choice in ("qemu-xhci", "nec-xhci", "two"):
        model = usb_choice
        n = draw(st.sampled_from([None, 1, 2, 3, 6, 15]))
        index = 0
        if usb_choice == "two":
            model = draw(st.sampled_from(["qemu-xhci", "nec-xhci"]))
            b.devices.append(controller("usb", "piix3-uhci", 0))
            ports[0] = 2
            index = 1
        b.devices.append(controller("usb", model, index, b.pci_address(), ports=n))
        ports[index] = n or _USB_DEFAULT_PORTS[model]
    elif usb_choice == "other":
        model = draw(st.sampled_from(["ehci", "pci-ohci", "piix4-uhci", "vt82c686b-uhci"]))
        b.devices.append(controller("usb", model, 0, b.pci_address()))
        ports[0] = _USB_DEFAULT_PORTS[model]
    else:
        b.devices.append(controller("usb", "none", 0))
        b.usb_on = False
    b.usb_free = [(bus, str(p)) for bus, n in ports.items() for p in range(1, n + 1)]
    b.usb_buses = sorted(ports)
    if b.usb_free:
        # one root port stays out of the explicit pool: libvirt needs it for a hub when the
        # devices without an address outnumber the free ports ("No free USB ports" otherwise)
        b.pop(b.usb_free)

    # SCSI controllers
    nscsi = draw(st.sampled_from([0, 0, 1, 1, 2] if flavour != "drive" else [0, 1, 2, 2]))
    for i in range(nscsi):
        model = draw(st.sampled_from(["lsilogic", "virtio-scsi", "virtio-scsi", None]))
        b.devices.append(controller("scsi", model, i, b.pci_address()))
        b.scsi_models[i] = model or "lsilogic"

    # SATA controllers (q35 has sata 0 built in at 00:1f.2; one more makes the next an added one)
    for i in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        address = None if b.q35 and i == 0 else b.pci_address()
        b.devices.append(controller("sata", None, i, address))

    # virtio-serial controllers, some with few ports so that channels overflow them
    nvs = draw(st.sampled_from([0, 0, 0, 0, 1, 2] if flavour != "vserial" else [0, 1, 2, 3]))
    for i in range(nvs):
        n = draw(st.sampled_from([None, None, 2, 3, 4]))
        b.devices.append(controller("virtio-serial", None, i, b.pci_address(), ports=n))
        b.vs_ports[i] = n or 31
        b.vs_free[i] = list(range(1, b.vs_ports[i]))
    if not b.vs_ports:
        b.vs_free[0] = list(range(1, 31))  # an explicit port makes libvirt add controller 0

    balloon = draw(st.sampled_from(["default", "default", "default", "none", "explicit"]))
    if balloon == "none":
        b.devices.append(simple("memballoon", " model='none'"))
    elif balloon == "explicit":
        b.devices.append(simple("memballoon", " model='virtio'", b.pci_address()))
    graphics = draw(st.sampled_from(["none", "vnc", "spice", "spice"]))
    if graphics != "none":
        b.devices.append(simple("graphics", f" type='{graphics}'"))
        b.spice = graphics == "spice"


_PCI_KINDS = ["virtio-disk", "virtio-disk", "interface", "interface", "sound", "video", "rng",
              "watchdog", "input-virtio", "hostdev", "filesystem", "multifunction"]  # fmt: skip
_DRIVE_KINDS = ["sata-disk", "scsi-disk", "scsi-disk", "fdc-disk", "scsi-hostdev"]
_USB_KINDS = ["usb-input", "usb-input", "redirdev", "hub", "usb-disk", "usb-hostdev", "smartcard",
              "usb-serial", "usb-sound", "usb-net", "mtp"]  # fmt: skip
_CHAR_KINDS = ["channel", "channel", "virtio-console", "serial-console"]


def _device(b: _Builder, kind: str) -> None:
    draw = b.draw
    if kind == "virtio-disk":
        model = draw(st.sampled_from([None, None, None, "virtio-transitional"]))
        name, _ = b.disk_name("vd", None, 200)
        b.devices.append(disk(name, "virtio", b.pci_address(), model))
    elif kind.endswith("-disk") and kind.split("-")[0] in _NAME_LAYOUT:
        b.drive_disk(kind.split("-")[0])
    elif kind == "scsi-hostdev":
        b.scsi_hostdev()
    elif kind in _USB_KINDS:
        b.usb_device(kind)
    elif kind == "interface":
        b.devices.append(interface(draw(st.sampled_from(NIC_MODELS)), b.pci_address()))
    elif kind == "sound":
        model = draw(st.sampled_from(SOUND_MODELS + (["virtio"] if b.newer else [])))
        b.devices.append(simple("sound", f" model='{model}'", b.pci_address()))
    elif kind == "video":
        if b.videos < 2:
            # only the first video may be of any model; secondary ones are qxl or virtio
            model = draw(st.sampled_from(VIDEO_MODELS if b.videos == 0 else ["qxl", "virtio"]))
            b.videos += 1
            b.devices.append(simple("video", "", f"<model type='{model}'/>", b.pci_address()))
    elif kind == "rng":
        backend = "<backend model='random'>/dev/urandom</backend>"
        b.devices.append(simple("rng", " model='virtio'", backend, b.pci_address()))
    elif kind == "watchdog":
        # 9.0 takes one watchdog, 11.3 several; an ib700 now and then (11.3: i440fx only)
        if not b.watchdog or b.newer:
            b.watchdog = True
            if b.chance(8):
                b.devices.append(simple("watchdog", " model='ib700'"))
            else:
                b.devices.append(simple("watchdog", " model='i6300esb'", b.pci_address()))
    elif kind == "input-virtio":
        itype = draw(st.sampled_from(["tablet", "keyboard", "mouse"]))
        b.devices.append(simple("input", f" type='{itype}' bus='virtio'", b.pci_address()))
    elif kind == "hostdev":
        b.devices.append(hostdev(0xF0 + b.count("hostdev"), address=b.pci_address()))
    elif kind == "filesystem":
        b.devices.append(filesystem(f"share{b.count('fs')}", b.pci_address()))
    elif kind == "multifunction":
        where = b.pci_slot()
        if where is not None:
            bus, slot = where
            for fn in range(draw(st.integers(2, 4))):
                address = pci(slot, bus, fn, "on" if fn == 0 else None)
                what = draw(st.sampled_from(["nic", "disk", "sound"]))
                if what == "nic":
                    b.devices.append(interface(draw(st.sampled_from(NIC_MODELS)), address))
                elif what == "disk":
                    name, _ = b.disk_name("vd", None, 200)
                    b.devices.append(disk(name, "virtio", address))
                else:
                    b.devices.append(simple("sound", " model='ich6'", address))
    elif kind == "channel":
        b.channel()
    elif kind == "virtio-console":
        address = b.vserial_address() if b.chance(4) else None
        b.devices.append(simple("console", " type='pty'", "<target type='virtio'/>", address))
    elif kind == "serial-console":
        if not b.counters.get("serial"):
            b.count("serial")
            b.devices.append(simple("serial", " type='pty'"))
            # libvirt wants a serial console to be the first console
            first = next((i for i, d in enumerate(b.devices) if _is(d, "console")), None)
            console = simple("console", " type='pty'", "<target type='serial'/>")
            b.devices.insert(len(b.devices) if first is None else first, console)
    else:  # pragma: no cover
        raise AssertionError(kind)


@st.composite
def domains(draw: st.DrawFn, name: str, flavour: str = "mixed", libvirt: str = "9.0") -> str:
    """One random x86_64 domain of type qemu for libvirt ``libvirt``, as XML text."""
    machine = draw(st.sampled_from(MACHINES))
    b = _Builder(draw, is_q35(machine), libvirt=libvirt)
    _setup_controllers(b, flavour)
    drive_kinds = _DRIVE_KINDS + ([] if b.q35 else ["ide-disk", "ide-disk"])
    every = _PCI_KINDS + drive_kinds + _USB_KINDS + _CHAR_KINDS
    if flavour == "pci" and not b.q35:
        for _ in range(draw(st.integers(30, 40))):
            _device(b, "virtio-disk")
        plan = [(every, draw(st.integers(0, 4)))]
    elif flavour == "pci":
        plan = [(_PCI_KINDS, draw(st.integers(10, 30))), (every, draw(st.integers(0, 4)))]
    elif flavour == "usb":
        plan = [(_USB_KINDS, draw(st.integers(3, 16))), (every, draw(st.integers(0, 4)))]
    elif flavour == "drive":
        plan = [(drive_kinds, draw(st.integers(4, 20))), (every, draw(st.integers(0, 4)))]
    elif flavour == "vserial":
        plan = [(_CHAR_KINDS, draw(st.integers(3, 14))), (every, draw(st.integers(0, 4)))]
    else:
        plan = [(every, draw(st.integers(0, 14)))]
    for kinds, count in plan:
        for _ in range(count):
            _device(b, draw(st.sampled_from(kinds)))

    memory_slots = None
    if draw(st.integers(0, 3)) == 0:
        memory_slots = draw(st.integers(1, 6))
        free = list(range(memory_slots))
        for _ in range(draw(st.integers(0, memory_slots))):
            address = dimm(b.pop(free)) if b.chance(3) else None
            b.devices.append(memory_dimm(address=address))
    devices = b.devices
    if b.chance(4):
        order = draw(st.permutations(range(len(devices))))
        devices = [devices[i] for i in order]
        # the order of videos (the first is the primary), consoles and hubs (a hub behind another
        # one comes after it) matters: keep theirs
        for tag in ("video", "console", "hub"):
            kept = iter([d for d in b.devices if _is(d, tag)])
            devices = [next(kept) if _is(d, tag) else d for d in devices]
    return domain(name, machine, devices, memory_slots)


def _is(element: str, tag: str) -> bool:
    return element.lstrip().startswith(f"<{tag} ") or element.lstrip().startswith(f"<{tag}>")
