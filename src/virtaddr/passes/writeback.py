"""Write what the passes decided back into the document, touching nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from virtaddr.libvirt.device import Device, local
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.usbport import format_usb_port
from virtaddr.xmledit import (
    find_child,
    insert_element,
    insert_next_to,
    new_element,
    parent_indent_unit,
    remove_element,
    set_address,
)

# libvirt's order of the elements inside <devices>.
DEVICE_ORDER = (
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "crypto",
)
_CONTROLLER_ATTR_ORDER = ("type", "index", "model")


def format_address(atype: str, a: dict[str, Any]) -> list[tuple[str, str]]:
    """The attributes of an ``<address>`` in libvirt's order and number formats."""
    out = [("type", atype)]
    if atype == "pci":
        out += [
            ("domain", f"0x{a.get('domain', 0):04x}"),
            ("bus", f"0x{a.get('bus', 0):02x}"),
            ("slot", f"0x{a.get('slot', 0):02x}"),
            ("function", f"0x{a.get('function', 0):x}"),
        ]
        if a.get("multifunction") in ("on", "off"):
            out.append(("multifunction", a["multifunction"]))
    elif atype == "drive":
        out += [(k, str(a.get(k, 0))) for k in ("controller", "bus", "target", "unit")]
    elif atype == "virtio-serial":
        out += [(k, str(a.get(k, 0))) for k in ("controller", "bus", "port")]
    elif atype == "ccid":
        out += [(k, str(a.get(k, 0))) for k in ("controller", "slot")]
    elif atype == "usb":
        out.append(("bus", str(a.get("bus", 0))))
        if a.get("port"):
            out.append(("port", format_usb_port(a["port"])))
    elif atype == "dimm":
        out.append(("slot", str(a.get("slot", 0))))
        if a.get("base"):
            out.append(("base", f"0x{a['base']:x}"))
    elif atype == "ccw" and "devno" in a:
        out += [
            ("cssid", f"0x{a['cssid']:x}"),
            ("ssid", f"0x{a['ssid']:x}"),
            ("devno", f"0x{a['devno']:04x}"),
        ]
    elif atype == "spapr-vio" and "reg" in a:
        out.append(("reg", f"0x{a['reg']:08x}"))
    return out


def _write_zpci(d: Device, address: etree._Element) -> None:
    """The ``<zpci uid fid/>`` child libvirt writes in an s390 PCI address (``props['zpci']``)."""
    ids = d.props.get("zpci")
    if not ids:
        return
    zpci = find_child(address, "zpci")
    if zpci is None:
        zpci = new_element(_qualified_like(address, "zpci"), [])
        address.append(zpci)
    zpci.attrib.clear()
    zpci.set("uid", f"0x{ids['uid']:04x}")
    zpci.set("fid", f"0x{ids['fid']:08x}")


def _write_compat_console(console: Device) -> None:
    assert console.elem is not None
    if console.addr_type is not None:
        set_address(console.elem, format_address(console.addr_type, console.addr))


def _remove_address(d: Device) -> None:
    """A device whose address libvirt drops (a vfio-ap mdev) loses its ``<address>``."""
    assert d.elem is not None
    el = find_child(d.elem, "address")
    if el is not None:
        remove_element(el)


def _needs_completion(d: Device) -> bool:
    if d.addr_type != "pci" or d.elem is None:
        return False
    el = find_child(d.elem, "address")
    return el is not None and any(el.get(k) is None for k in ("domain", "bus", "slot", "function"))


def _primary_video_first(domain: Domain) -> None:
    """Move the primary video before the other videos, where libvirt's list has it.

    libvirt keeps the primary video first and writes it so; tools that pair videos by their order
    (as libvirt's own output does) need the same order to see the same addresses.
    """
    videos = [v for v in domain.lists["video"] if v.elem is not None]
    if not videos:
        return
    primary = videos[0].elem
    first = min((v.elem for v in videos), key=lambda e: e.getparent().index(e))  # type: ignore[union-attr]
    if primary is first or primary is None or first is None:
        return
    prev = primary.getprevious()
    if prev is not None:
        prev.tail, primary.tail = primary.tail, prev.tail
    first.addprevious(primary)


def write_back(domain: Domain) -> None:
    _primary_video_first(domain)
    for d in domain.walk():
        if d.elem is None:
            continue
        if d.tag == "controller":
            _update_controller(d)
        if (d.addr_dirty or _needs_completion(d)) and d.addr_type is not None:
            address = set_address(d.elem, format_address(d.addr_type, d.addr))
            _write_zpci(d, address)
        elif d.addr_dirty and d.addr_type is None:
            _remove_address(d)
    console = domain.compat_console()  # outside the walk; shows serial 0's address (pSeries)
    if console is not None and console.elem is not None and console.addr_dirty:
        _write_compat_console(console)
    if domain.added:
        devices = domain.devices_elem
        if devices is None:
            devices = insert_element(domain.root, new_element(_qualify(domain, "devices")))
            domain.devices_elem = devices
        # The last child of each device tag: a new device goes after the last one of its tag,
        # else of the nearest tag before it in libvirt's order (insert_element's ``after``,
        # without rescanning <devices> for each of hundreds of added controllers).
        prefix = _prefix(domain)
        tag = str(devices.tag)
        devices_prefix = tag[: tag.index("}") + 1] if tag.startswith("{") else ""
        last: dict[str, etree._Element] = {}
        for child in devices:
            if isinstance(child.tag, str):
                last[child.tag] = child
        anchors: dict[str, tuple[str, ...]] = {}  # tag -> itself and the tags before it
        unit = parent_indent_unit(devices)  # read once: insertions next to children keep it
        for d in domain.added:
            if d.tag == "controller" and d.props.get("model") is None and "index" not in d.props:
                continue
            elem = _build(prefix, d)
            names = anchors.get(d.tag)
            if names is None:
                pos = DEVICE_ORDER.index(d.tag)
                names = anchors[d.tag] = tuple(
                    devices_prefix + t for t in reversed(DEVICE_ORDER[: pos + 1])
                )
            anchor = next((last[t] for t in names if t in last), None)
            if anchor is not None:
                insert_next_to(anchor, elem, after=True, unit=unit)
            else:
                insert_element(devices, elem)
                unit = parent_indent_unit(devices)
            last[str(elem.tag)] = elem
            d.elem = elem


def _qualify(domain: Domain, name: str) -> str:
    return f"{{{domain.ns}}}{name}" if domain.ns else name


def _prefix(domain: Domain) -> str:
    return f"{{{domain.ns}}}" if domain.ns else ""


def _build(prefix: str, d: Device) -> etree._Element:
    """The element of an added device, its tags in the domain's namespace (``prefix``)."""
    attrs = list(d.attrs)
    if d.tag == "controller":
        model = d.props.get("model")
        if model is not None and d.get("type") in ("usb", "scsi", "pci"):
            attrs.append(("model", model))
    elem = new_element(prefix + d.tag, attrs)
    # SubElement: a child made in its parent's document, not moved into it afterwards
    for tag, a in d.children:
        _sub_element(elem, prefix + tag, a)
    if d.props.get("model_name"):
        _sub_element(elem, prefix + "model", [("name", d.props["model_name"])])
    target = d.props.get("target")
    if target:
        _sub_element(elem, prefix + "target", target.items())
    if d.addr_type is not None:
        address = _sub_element(elem, prefix + "address", format_address(d.addr_type, d.addr))
        _write_zpci(d, address)
    return elem


def _sub_element(
    parent: etree._Element, tag: str, attrs: Iterable[tuple[str, str]]
) -> etree._Element:
    child = etree.SubElement(parent, tag)
    for name, value in attrs:
        child.set(name, value)
    return child


def _update_controller(c: Device) -> None:
    assert c.elem is not None
    el = c.elem
    changed = False
    values = dict(el.attrib)
    if c.props.get("index_dirty"):
        values["index"] = str(c.props["index"])
        changed = True
    if c.props.get("model_dirty"):
        values["model"] = c.props["model"]
        changed = True
    if changed:
        ordered = [(k, values[k]) for k in _CONTROLLER_ATTR_ORDER if k in values]
        ordered += [(k, v) for k, v in values.items() if k not in _CONTROLLER_ATTR_ORDER]
        el.attrib.clear()
        for k, v in ordered:
            el.set(k, v)
    if c.props.get("model_name"):
        model = new_element("model", [("name", c.props["model_name"])])
        model.tag = _qualified_like(el, "model")
        insert_element(el, model, before=("target", "driver", "alias", "address"))
    target_values = c.props.get("target")
    if target_values:
        target = find_child(el, "target")
        if target is None:
            target = new_element(_qualified_like(el, "target"), list(target_values.items()))
            insert_element(el, target, after=("model",), before=("driver", "alias", "address"))
        else:
            for k, v in target_values.items():
                target.set(k, v)


def _qualified_like(el: etree._Element, name: str) -> str:
    tag = str(el.tag)
    return tag[: tag.index("}") + 1] + name if tag.startswith("{") else name


__all__ = ["format_address", "local", "write_back"]
