"""Small builders for libvirt domain XML used by the fixture recorder and the differential test.

Each builder returns the text of one element, indented for ``<devices>``; :func:`domain` wraps
them into a complete x86_64 domain of ``type='qemu'``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "channel",
    "controller",
    "dimm",
    "disk",
    "domain",
    "drive",
    "filesystem",
    "hostdev",
    "interface",
    "memory_dimm",
    "pci",
    "scsi_hostdev",
    "simple",
    "usb",
    "usb_hostdev",
    "usb_ich9_set",
    "vserial",
]

_IND = "    "


def pci(slot: int, bus: int = 0, function: int = 0, multifunction: str | None = None) -> str:
    """A PCI ``<address>`` in libvirt's attribute order and hex widths."""
    mf = f" multifunction='{multifunction}'" if multifunction else ""
    return (
        f"<address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}'"
        f" function='{function:#x}'{mf}/>"
    )


def drive(controller: int, bus: int, unit: int, target: int = 0) -> str:
    """A drive ``<address>`` (controller, bus, target, unit)."""
    return (
        f"<address type='drive' controller='{controller}' bus='{bus}' target='{target}'"
        f" unit='{unit}'/>"
    )


def usb(bus: int, port: str) -> str:
    """A USB ``<address>``; ``port`` is a path such as ``'2'`` or ``'1.3'``."""
    return f"<address type='usb' bus='{bus}' port='{port}'/>"


def vserial(controller: int | None = None, bus: int | None = None, port: int | None = None) -> str:
    """A virtio-serial ``<address>`` with only the attributes given (partial addresses too)."""
    attrs = "".join(
        f" {k}='{v}'" for k, v in (("controller", controller), ("bus", bus), ("port", port))
        if v is not None
    )  # fmt: skip
    return f"<address type='virtio-serial'{attrs}/>"


def dimm(slot: int) -> str:
    return f"<address type='dimm' slot='{slot}'/>"


def _element(tag: str, attrs: str, body: Iterable[str | None]) -> str:
    inner = [b for b in body if b]
    if not inner:
        return f"{_IND * 2}<{tag}{attrs}/>"
    lines = [f"{_IND * 2}<{tag}{attrs}>"]
    lines += [f"{_IND * 3}{b}" for b in inner]
    lines.append(f"{_IND * 2}</{tag}>")
    return "\n".join(lines)


def disk(dev: str, bus: str | None = None, address: str | None = None, model: str | None = None,
         device: str = "disk") -> str:  # fmt: skip
    """A file-backed disk (``device``: disk, cdrom (no source) or floppy); bus None lets libvirt
    derive it from the target name."""
    bus_attr = f" bus='{bus}'" if bus else ""
    model_attr = f" model='{model}'" if model else ""
    source = None if device == "cdrom" else f"<source file='/var/lib/images/{dev}.img'/>"
    return _element(
        "disk",
        f" type='file' device='{device}'{model_attr}",
        ["<driver name='qemu' type='raw'/>", source, f"<target dev='{dev}'{bus_attr}/>", address],
    )


def interface(model: str | None = None, address: str | None = None) -> str:
    model_el = f"<model type='{model}'/>" if model else None
    return _element("interface", " type='user'", [model_el, address])


def controller(ctype: str, model: str | None = None, index: int | None = None,
               address: str | None = None, body: Iterable[str] = (),
               ports: int | None = None) -> str:  # fmt: skip
    attrs = f" type='{ctype}'"
    if index is not None:
        attrs += f" index='{index}'"
    if model:
        attrs += f" model='{model}'"
    if ports is not None:
        attrs += f" ports='{ports}'"
    return _element("controller", attrs, [*body, address])


def usb_ich9_set(index: int | None = 0, addresses: bool = False) -> list[str]:
    """An ehci1 master with its three uhci companions (optionally at 00:1d / explicit slot 0x1d)."""

    def addr(fn: int, mf: bool = False) -> str | None:
        return pci(0x1D, function=fn, multifunction="on" if mf else None) if addresses else None

    return [
        controller("usb", "ich9-ehci1", index, addr(7)),
        controller("usb", "ich9-uhci1", index, addr(0, True), ["<master startport='0'/>"]),
        controller("usb", "ich9-uhci2", index, addr(1), ["<master startport='2'/>"]),
        controller("usb", "ich9-uhci3", index, addr(2), ["<master startport='4'/>"]),
    ]


def hostdev(host_bus: int, host_slot: int = 0, address: str | None = None) -> str:
    source = (
        f"<source><address domain='0x0000' bus='{host_bus:#04x}' slot='{host_slot:#04x}'"
        " function='0x0'/></source>"
    )
    return _element("hostdev", " mode='subsystem' type='pci' managed='no'", [source, address])


def scsi_hostdev(n: int, iscsi: bool, address: str | None = None) -> str:
    """A SCSI hostdev libvirt accepts at define time without the device: an iSCSI LUN
    (``iscsi``) or a LUN behind the host adapter ``scsi_host<n>``."""
    if iscsi:
        source = [
            f"<source protocol='iscsi' name='iqn.2014-08.org.example:storage/{n}'>",
            "  <host name='iscsi.example.org' port='3260'/>",
            "</source>",
        ]
    else:
        source = [
            "<source>",
            f"  <adapter name='scsi_host{n}'/>",
            "  <address bus='0' target='0' unit='0'/>",
            "</source>",
        ]
    return _element("hostdev", " mode='subsystem' type='scsi'", [*source, address])


def usb_hostdev(product: int, address: str | None = None) -> str:
    source = f"<source><vendor id='0x1234'/><product id='{product:#06x}'/></source>"
    return _element("hostdev", " mode='subsystem' type='usb' managed='no'", [source, address])


def memory_dimm(size_kib: int = 131072, address: str | None = None) -> str:
    """A dimm of NUMA node 0 (libvirt wants the node whenever the guest has NUMA cells)."""
    target = f"<target><size unit='KiB'>{size_kib}</size><node>0</node></target>"
    return _element("memory", " model='dimm'", [target, address])


def filesystem(tag: str, address: str | None = None) -> str:
    return _element(
        "filesystem",
        " type='mount' accessmode='passthrough'",
        [f"<source dir='/srv/{tag}'/>", f"<target dir='{tag}'/>", address],
    )


def channel(name: str, address: str | None = None) -> str:
    return _element("channel", " type='pty'", [f"<target type='virtio' name='{name}'/>", address])


def simple(tag: str, attrs: str = "", *body: str | None) -> str:
    """Any other device: ``simple('sound', " model='ich9'", address)``."""
    return _element(tag, attrs, body)


def domain(name: str, machine: str | None, devices: Iterable[str],
           memory_slots: int | None = None, arch: str = "x86_64") -> str:  # fmt: skip
    """A complete domain (``arch``, x86_64 unless given); ``machine=None`` leaves the machine
    attribute out.

    ``memory_slots`` adds ``<maxMemory slots=N>`` and the one-cell NUMA topology libvirt requires
    before it accepts ``<memory model='dimm'>`` devices."""
    machine_attr = f" machine='{machine}'" if machine else ""
    body = "\n".join(devices)
    max_memory = numa = ""
    if memory_slots is not None:
        max_memory = f"{_IND}<maxMemory slots='{memory_slots}' unit='KiB'>16777216</maxMemory>\n"
        numa = (
            f"{_IND}<cpu>\n{_IND * 2}<numa>\n"
            f"{_IND * 3}<cell id='0' cpus='0' memory='262144' unit='KiB'/>\n"
            f"{_IND * 2}</numa>\n{_IND}</cpu>\n"
        )
    os = f"{_IND}<os>\n{_IND * 2}<type arch='{arch}'{machine_attr}>hvm</type>\n{_IND}</os>\n"
    devices_text = f"{_IND}<devices>\n" + (body + "\n" if body else "") + f"{_IND}</devices>\n"
    return (
        f"<domain type='qemu'>\n{_IND}<name>{name}</name>\n{max_memory}"
        f"{_IND}<memory unit='KiB'>262144</memory>\n{os}{numa}{devices_text}</domain>\n"
    )
