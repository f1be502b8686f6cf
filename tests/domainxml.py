"""Small builders for libvirt domain XML used by the fixture recorder and the differential test.

Each builder returns the text of one element, indented for ``<devices>``; :func:`domain` wraps
them into a complete x86_64 domain of ``type='qemu'``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "channel",
    "controller",
    "disk",
    "domain",
    "filesystem",
    "hostdev",
    "interface",
    "pci",
    "usb_ich9_set",
]

_IND = "    "


def pci(slot: int, bus: int = 0, function: int = 0, multifunction: str | None = None) -> str:
    """A PCI ``<address>`` in libvirt's attribute order and hex widths."""
    mf = f" multifunction='{multifunction}'" if multifunction else ""
    return (
        f"<address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}'"
        f" function='{function:#x}'{mf}/>"
    )


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
    """A file-backed disk; bus None lets libvirt derive it from the target name."""
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
               address: str | None = None, body: Iterable[str] = ()) -> str:  # fmt: skip
    attrs = f" type='{ctype}'"
    if index is not None:
        attrs += f" index='{index}'"
    if model:
        attrs += f" model='{model}'"
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


def domain(name: str, machine: str | None, devices: Iterable[str]) -> str:
    """A complete x86_64 domain; ``machine=None`` leaves the machine attribute out."""
    machine_attr = f" machine='{machine}'" if machine else ""
    body = "\n".join(devices)
    return (
        "<domain type='qemu'>\n"
        f"{_IND}<name>{name}</name>\n"
        f"{_IND}<memory unit='KiB'>262144</memory>\n"
        f"{_IND}<os>\n"
        f"{_IND * 2}<type arch='x86_64'{machine_attr}>hvm</type>\n"
        f"{_IND}</os>\n"
        f"{_IND}<devices>\n" + (body + "\n" if body else "") + f"{_IND}</devices>\n"
        "</domain>\n"
    )
