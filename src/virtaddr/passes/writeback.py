"""Write what the passes decided back into the document, touching nothing else."""

from __future__ import annotations

from typing import Any

from lxml import etree

from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import WRITE_ALWAYS, WRITE_ON_OFF, WRITE_USB_PORT
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.usbport import format_usb_port
from virtaddr.xmldoc.names import local, namespace, ns_prefix
from virtaddr.xmldoc.xmledit import (
    ElementSpec,
    append_child,
    find_child,
    insert_element,
    insert_laid_out_after,
    insert_next_to,
    new_element,
    new_elements,
    parent_indent_unit,
    remove_element,
    set_address,
    sibling_layout,
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
    """The attributes of an ``<address>`` in libvirt's order and number formats.

    As the address type declares them (:mod:`virtaddr.kinds`); an unknown type is written as
    its type alone.
    """
    out = [("type", atype)]
    spec = ADDRESS_TYPES.get(atype)
    if spec is None or (spec.written_if is not None and spec.written_if not in a):
        return out
    get = a.get
    for name, how, table, text in spec.writing:
        if how == WRITE_ALWAYS:
            value = get(name, 0)
            out.append((name, table[value] if 0 <= value < len(table) else text(value)))
        elif how == WRITE_ON_OFF:
            value = get(name)
            if value == "on" or value == "off":
                out.append((name, value))
        else:
            value = get(name)
            if value:
                out.append((name, format_usb_port(value) if how == WRITE_USB_PORT else text(value)))
    return out


def _write_zpci(d: Device, address: etree._Element) -> None:
    """The ``<zpci uid fid/>`` child libvirt writes in an s390 PCI address (``d.zpci_ids``)."""
    ids = d.zpci_ids
    if not ids:
        return
    zpci = find_child(address, "zpci")
    if zpci is None:
        zpci = new_element(_qualified_like(address, "zpci"), [])
        address.append(zpci)
    zpci.attrib.clear()
    for name, value in _zpci_attrs(ids):
        zpci.set(name, value)


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
    # New <address> children are made together (new_elements), per namespace of their device.
    new_addresses: dict[str | None, list[tuple[Device, list[tuple[str, str]]]]] = {}
    for d in domain.walk():
        elem = d.elem
        if elem is None:
            continue
        if d.tag == "controller":
            _update_controller(d)
        if d.addr_type is not None:
            if d.addr_dirty or _needs_completion(d):
                attrs = format_address(d.addr_type, d.addr)
                address = find_child(elem, "address")
                if address is None:
                    new_addresses.setdefault(namespace(str(elem.tag)), []).append((d, attrs))
                else:
                    set_address(elem, attrs)
                    _write_zpci(d, address)
        elif d.addr_dirty:
            _remove_address(d)
    for uri, devices in new_addresses.items():
        specs = [("address", attrs, _zpci_spec(d)) for d, attrs in devices]
        for (d, _), address in zip(devices, new_elements(specs, uri), strict=True):
            assert d.elem is not None
            append_child(d.elem, address)
    console = domain.compat_console()  # outside the walk; shows serial 0's address (pSeries)
    if console is not None and console.elem is not None and console.addr_dirty:
        _write_compat_console(console)
    added = [
        d
        for d in domain.added
        if not (d.tag == "controller" and d.model is None and d.index is None)
    ]
    if added:
        _insert_added(domain, added)


def _added_layout(devices: etree._Element) -> tuple[str, str] | None:
    return sibling_layout(devices, parent_indent_unit(devices))


def _insert_added(domain: Domain, added: list[Device]) -> None:
    """Put the added devices into ``<devices>``, each after the last one of its tag, else of the
    nearest tag before it in libvirt's order, laid out like its siblings."""
    devices = domain.devices_elem
    if devices is None:
        devices = insert_element(domain.root, new_element(_qualify(domain, "devices")))
        domain.devices_elem = devices
    layout = _added_layout(devices)  # their content is laid out as they are made
    elements = new_elements([_spec(d) for d in added], domain.ns, layout)
    # The last child of each device tag (insert_element's ``after`` without rescanning
    # <devices> for each of hundreds of added controllers).
    tag = str(devices.tag)
    devices_prefix = ns_prefix(tag)
    last: dict[str, etree._Element] = {}
    for child in devices:
        if isinstance(child.tag, str):
            last[child.tag] = child
    anchors: dict[str, tuple[str, ...]] = {}  # tag -> itself and the tags before it
    same_namespace = str(devices.tag) == _qualify(domain, "devices")
    laid_out = layout is not None and same_namespace  # as they were made for
    for d, elem in zip(added, elements, strict=True):
        names = anchors.get(d.tag)
        if names is None:
            pos = DEVICE_ORDER.index(d.tag)
            names = anchors[d.tag] = tuple(
                devices_prefix + t for t in reversed(DEVICE_ORDER[: pos + 1])
            )
        anchor = None
        for name in names:
            anchor = last.get(name)
            if anchor is not None:
                break
        if anchor is not None and laid_out:
            assert layout is not None
            insert_laid_out_after(anchor, elem, layout[0])
        else:
            if layout is not None:
                _strip_layout(elem)  # made for another place: lay it out where it goes
            if anchor is not None:
                insert_next_to(anchor, elem, after=True, unit=parent_indent_unit(devices))
            else:
                insert_element(devices, elem)
            laid_out = same_namespace and layout is not None and _added_layout(devices) == layout
        last[str(elem.tag)] = elem
        d.elem = elem


def _strip_layout(elem: etree._Element) -> None:
    for e in elem.iter():
        if e is not elem:
            e.tail = None
        e.text = None


def _qualify(domain: Domain, name: str) -> str:
    return f"{{{domain.ns}}}{name}" if domain.ns else name


def _spec(d: Device) -> ElementSpec:
    """The element of an added device."""
    attrs = list(d.attrs)
    if d.tag == "controller":
        model = d.model
        if model is not None and d.get("type") in ("usb", "scsi", "pci"):
            attrs.append(("model", model))
    children: list[ElementSpec] = [(tag, a, ()) for tag, a in d.children]
    if d.model_name:
        children.append(("model", [("name", d.model_name)], ()))
    target = d.filled_target
    if target:
        children.append(("target", list(target.items()), ()))
    if d.addr_type is not None:
        children.append(("address", format_address(d.addr_type, d.addr), _zpci_spec(d)))
    return (d.tag, attrs, children)


def _zpci_spec(d: Device) -> list[ElementSpec]:
    ids = d.zpci_ids
    if not ids:
        return []
    return [("zpci", _zpci_attrs(ids), ())]


def _zpci_attrs(ids: dict[str, int]) -> list[tuple[str, str]]:
    """``uid`` and ``fid`` of a ``<zpci>`` as libvirt writes them."""
    return [("uid", f"0x{ids['uid']:04x}"), ("fid", f"0x{ids['fid']:08x}")]


def _update_controller(c: Device) -> None:
    assert c.elem is not None
    el = c.elem
    changed = False
    values = dict(el.attrib)
    if c.index_dirty:
        values["index"] = str(c.index)
        changed = True
    if c.model_dirty and c.model is not None:
        values["model"] = c.model
        changed = True
    if changed:
        ordered = [(k, values[k]) for k in _CONTROLLER_ATTR_ORDER if k in values]
        ordered += [(k, v) for k, v in values.items() if k not in _CONTROLLER_ATTR_ORDER]
        el.attrib.clear()
        for k, v in ordered:
            el.set(k, v)
    if c.model_name:
        model = new_element("model", [("name", c.model_name)])
        model.tag = _qualified_like(el, "model")
        insert_element(el, model, before=("target", "driver", "alias", "address"))
    target_values = c.filled_target
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
    return ns_prefix(tag) + name


__all__ = ["format_address", "local", "write_back"]
