"""PCI connect flags: what each device needs from a bus, what each bus offers."""

from __future__ import annotations

from virtaddr.libvirt.device import Device

# Connect types, in the order libvirt names them in messages.
PCI_DEVICE = 1 << 0
PCIE_DEVICE = 1 << 1
ROOT_PORT = 1 << 2
UPSTREAM_PORT = 1 << 3
DOWNSTREAM_PORT = 1 << 4
DMI_TO_PCI = 1 << 5
PCIE_TO_PCI = 1 << 6
PCI_EXPANDER = 1 << 7
PCIE_EXPANDER = 1 << 8
PCI_BRIDGE = 1 << 9
TYPES = (1 << 10) - 1
# Markers.
AUTOASSIGN = 1 << 10
HOTPLUGGABLE = 1 << 11
INTEGRATED = 1 << 12
AGGREGATE_SLOT = 1 << 13

TYPE_NAMES = (
    "standard PCI device",
    "PCI Express device",
    "pcie-root-port",
    "pcie-switch-upstream-port",
    "pcie-switch-downstream-port",
    "dmi-to-pci-bridge",
    "pcie-to-pci-bridge",
    "pci-expander-bus",
    "pcie-expander-bus",
    "pci-bridge",
)


# libvirt's own bit values (virDomainPCIConnectFlags), used where its messages print flags.
_LIBVIRT_BITS = (
    (AUTOASSIGN, 1 << 0),
    (HOTPLUGGABLE, 1 << 1),
    (INTEGRATED, 1 << 2),
    (AGGREGATE_SLOT, 1 << 3),
    (PCI_DEVICE, 1 << 4),
    (PCIE_DEVICE, 1 << 5),
    (ROOT_PORT, 1 << 6),
    (UPSTREAM_PORT, 1 << 7),
    (DOWNSTREAM_PORT, 1 << 8),
    (DMI_TO_PCI, 1 << 9),
    (PCI_EXPANDER, 1 << 10),
    (PCIE_EXPANDER, 1 << 11),
    (PCI_BRIDGE, 1 << 12),
    (PCIE_TO_PCI, 1 << 13),
)


def libvirt_flags_value(flags: int) -> int:
    """``flags`` as libvirt numbers them, for messages that print them."""
    return sum(theirs for ours, theirs in _LIBVIRT_BITS if flags & ours)


def first_type_name(flags: int) -> str:
    for bit, name in enumerate(TYPE_NAMES):
        if flags & (1 << bit):
            return name
    return "unknown"


class BusModel:
    """What a PCI controller model offers downstream (a plain class: see :mod:`machine`)."""

    __slots__ = ("accepts", "autoassign", "hotplug", "max_slot", "min_slot")

    def __init__(
        self, accepts: int, min_slot: int, max_slot: int, autoassign: bool, hotplug: bool
    ) -> None:
        self.accepts = accepts
        self.min_slot = min_slot
        self.max_slot = max_slot
        self.autoassign = autoassign
        self.hotplug = hotplug

    def __repr__(self) -> str:
        return (
            f"BusModel(accepts={self.accepts!r}, min_slot={self.min_slot!r}, "
            f"max_slot={self.max_slot!r}, autoassign={self.autoassign!r}, "
            f"hotplug={self.hotplug!r})"
        )


_PORT = PCIE_DEVICE | UPSTREAM_PORT | PCIE_TO_PCI
BUS_MODELS: dict[str, BusModel] = {
    "pci-root": BusModel(PCI_DEVICE | PCI_BRIDGE | PCI_EXPANDER, 1, 31, True, True),
    "pcie-root": BusModel(
        PCIE_DEVICE | ROOT_PORT | DMI_TO_PCI | PCIE_EXPANDER, 1, 31, False, False
    ),
    "pci-bridge": BusModel(PCI_DEVICE | PCI_BRIDGE, 1, 31, True, True),
    "pci-expander-bus": BusModel(PCI_DEVICE | PCI_BRIDGE, 0, 31, True, True),
    "dmi-to-pci-bridge": BusModel(PCI_DEVICE | PCI_BRIDGE, 0, 31, False, False),
    "pcie-to-pci-bridge": BusModel(PCI_DEVICE | PCI_BRIDGE, 1, 31, True, True),
    "pcie-root-port": BusModel(_PORT, 0, 0, True, True),
    "pcie-switch-downstream-port": BusModel(_PORT, 0, 0, True, True),
    "pcie-switch-upstream-port": BusModel(DOWNSTREAM_PORT, 0, 31, False, False),
    "pcie-expander-bus": BusModel(ROOT_PORT | DMI_TO_PCI, 0, 31, False, False),
}

# What a PCI controller model needs upstream, and the <model name> libvirt writes for it.
CONTROLLER_FLAGS: dict[str, int] = {
    "pci-bridge": PCI_BRIDGE,
    "dmi-to-pci-bridge": DMI_TO_PCI,
    "pcie-to-pci-bridge": PCIE_TO_PCI,
    "pcie-root-port": ROOT_PORT | AGGREGATE_SLOT,
    "pcie-switch-upstream-port": UPSTREAM_PORT,
    "pcie-switch-downstream-port": DOWNSTREAM_PORT,
    "pci-expander-bus": PCI_EXPANDER,
    "pcie-expander-bus": PCIE_EXPANDER,
}
MODEL_NAMES: dict[str, str] = {
    "pci-bridge": "pci-bridge",
    "dmi-to-pci-bridge": "i82801b11-bridge",
    "pcie-to-pci-bridge": "pcie-pci-bridge",
    "pcie-root-port": "pcie-root-port",
    "pcie-switch-upstream-port": "x3130-upstream",
    "pcie-switch-downstream-port": "xio3130-downstream",
    "pci-expander-bus": "pxb",
    "pcie-expander-bus": "pxb-pcie",
}

_KNOWN_NET_MODELS = {
    "netfront",
    "rtl8139",
    "e1000",
    "e1000e",
    "usb-net",
    "spapr-vlan",
    "lan9118",
    "scm91c111",
    "vlance",
    "vmxnet",
    "vmxnet2",
    "vmxnet3",
    "am79c970a",
    "am79c973",
    "82540em",
    "82545em",
    "82543gc",
    "virtio",
    "virtio-transitional",
    "virtio-non-transitional",
}
_PCI_USB = {
    "piix3-uhci",
    "piix4-uhci",
    "vt82c686b-uhci",
    "ehci",
    "ich9-ehci1",
    "ich9-uhci1",
    "ich9-uhci2",
    "ich9-uhci3",
    "pci-ohci",
}
_PCI_SCSI = {
    "lsilogic",
    "buslogic",
    "lsisas1068",
    "lsisas1078",
    "vmpvscsi",
    "dc390",
    "am53c974",
    "virtio-transitional",
    "auto",
    "ibmvscsi",
}
_PCI_VIDEO = {"vga", "cirrus", "vmvga", "qxl", "xen", "vbox", "parallels"}


class Flags:
    """Connect-flag classes for one machine."""

    def __init__(self, pcie: bool) -> None:
        self.pci = PCI_DEVICE | AUTOASSIGN
        self.pcie_if_possible = (PCIE_DEVICE if pcie else PCI_DEVICE) | AUTOASSIGN
        self.virtio = self.pcie_if_possible

    def virtio_model(self, model: str | None) -> int:
        return self.pci if model == "virtio-transitional" else self.virtio

    def of(self, dev: Device) -> int:
        """The connect flags of ``dev`` (0: the device does not go on PCI)."""
        t = dev.tag
        if t == "disk":
            if dev.bus != "virtio":
                return 0
            return self.virtio_model(dev.get("model"))
        if t == "interface":
            if dev.get("type") == "hostdev":
                return self.pcie_if_possible
            model: str | None = dev.model or "rtl8139"
            low = (model or "").lower()
            if low in ("virtio", "virtio-non-transitional"):
                return self.virtio
            if low == "virtio-transitional":
                return self.pci
            if low == "e1000e":
                return self.pcie_if_possible
            if low == "usb-net":
                return 0
            if low in _KNOWN_NET_MODELS:
                return self.pci
            return self.pcie_if_possible
        if t == "sound":
            model = dev.get("model")
            if model == "virtio":  # libvirt 11.3 (9.0's parser refuses it)
                return self.virtio
            return self.pci if model in ("es1370", "ac97", "ich6", "ich9") else 0
        if t == "controller":
            return self._controller(dev)
        if t == "filesystem":
            driver = dev.child_get("driver", "type")
            if driver in ("loop", "nbd", "ploop"):
                return 0
            return self.virtio_model(dev.get("model"))
        if t == "hostdev":
            htype = dev.get("type")
            if dev.get("mode", "subsystem") != "subsystem":
                return 0
            if htype == "pci":
                return self.pcie_if_possible
            if htype == "scsi_host":
                return self.virtio_model(dev.get("model"))
            if htype == "mdev" and dev.get("model") == "vfio-pci":
                return self.pcie_if_possible
            return 0
        if t == "memballoon":
            model = dev.get("model") or dev.model
            if model in ("virtio", "virtio-non-transitional"):
                return self.virtio
            return self.pci if model == "virtio-transitional" else 0
        if t == "rng":
            model = dev.get("model")
            if model in ("virtio", "virtio-non-transitional"):
                return self.virtio
            return self.pci if model == "virtio-transitional" else 0
        if t == "watchdog":
            return self.pci if dev.get("model") == "i6300esb" else 0
        if t == "video":
            model = dev.model
            if model == "virtio":
                return self.virtio
            if model == "bochs":
                return self.pcie_if_possible
            return self.pci if model in _PCI_VIDEO else 0
        if t == "shmem":
            return self.pci
        if t == "input":
            if dev.bus != "virtio":
                return 0
            return self.virtio_model(dev.get("model"))
        if t == "serial":
            return self.pci if dev.child_get("target", "type") == "pci-serial" else 0
        if t == "iommu":
            return self.virtio | INTEGRATED if dev.get("model") == "virtio" else 0
        if t == "panic":  # pvpanic-pci: libvirt 11.3 (9.0's parser refuses the model)
            return self.pcie_if_possible | INTEGRATED if dev.get("model") == "pvpanic" else 0
        if t == "vsock":
            return self.virtio_model(dev.get("model"))
        if t == "memory":
            return self.virtio if dev.get("model") in ("virtio-pmem", "virtio-mem") else 0
        return 0

    def _controller(self, dev: Device) -> int:
        ctype = dev.get("type")
        model = dev.model
        if ctype == "pci":
            return CONTROLLER_FLAGS.get(model or "", 0)
        if ctype == "usb":
            if model in ("qemu-xhci", "nec-xhci"):
                return self.pcie_if_possible
            return self.pci if model in _PCI_USB or model is None else 0
        if ctype == "scsi":
            if model in ("virtio-scsi", "virtio-non-transitional"):
                return self.virtio
            return self.pci if model in _PCI_SCSI or model is None else 0
        if ctype in ("sata", "ide"):
            return self.pci
        if ctype == "virtio-serial":
            return self.virtio_model(model)
        return 0
