"""Write what the passes decided back into the document, touching nothing else.

Two ways, with the same result: into the tree (new elements built, as :func:`assign_element`
and every caller that goes on with the tree needs), or, when the document is being written as
text (:func:`virtaddr.xmldoc.edits.edits_for` gives its :class:`TextEdits`), as text: the new
``<address>`` elements and added devices are written as text next to the elements they follow,
never built, and only the rarer changes of an element's children (a ``<model>`` filled into a
controller, a removed address, the primary video moved first) are made in the tree and noted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from lxml import etree

from virtaddr.kinds import zpci as zpci_kind
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import WRITE_ALWAYS, WRITE_ON_OFF, WRITE_USB_PORT
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.usbport import format_usb_port
from virtaddr.xmldoc.edits import Piece, TextEdits, edits_for
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
    spec_texts,
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


def _write_zpci(d: Device, address: etree._Element, edits: TextEdits | None) -> None:
    """The ``<zpci uid fid/>`` child libvirt writes in an s390 PCI address (``d.zpci_ids``)."""
    ids = d.zpci_ids
    if not ids:
        return
    zpci = find_child(address, "zpci")
    if zpci is None:
        if edits is not None:
            edits.children_change(address)
        zpci = new_element(_qualified_like(address, "zpci"), [])
        address.append(zpci)
    elif edits is not None:
        edits.attributes_changed(zpci)
    zpci.attrib.clear()
    for name, value in zpci_kind.format_attrs(ids):
        zpci.set(name, value)


def _write_compat_console(console: Device, edits: TextEdits | None) -> None:
    elem = console.elem
    assert elem is not None
    if console.addr_type is None:
        return
    attrs = format_address(console.addr_type, console.addr)
    if edits is not None:
        address = find_child(elem, "address")
        if address is not None:
            edits.attributes_changed(address)
        elif not edits.builds_children(elem):
            edits.append(elem, _address_text(console, attrs, edits.quote, _prefix(elem)))
            return
    set_address(elem, attrs)


def _remove_address(d: Device, edits: TextEdits | None) -> None:
    """A device whose address libvirt drops (a vfio-ap mdev) loses its ``<address>``."""
    assert d.elem is not None
    el = find_child(d.elem, "address")
    if el is not None:
        if edits is not None:
            edits.children_change(d.elem)
        remove_element(el)


def _address_of(d: Device) -> etree._Element | None:
    """The ``<address>`` child of ``d``'s element, as :func:`find_child` finds it (through the
    device's index of its children: a device without one is the common case)."""
    address = d.child("address")
    if address is not None and address.tag != _qualified_like(d.elem, "address"):  # type: ignore[arg-type]
        return find_child(d.elem, "address")  # type: ignore[arg-type]
    return address


def _needs_completion(d: Device) -> bool:
    if d.addr_type != "pci" or d.elem is None:
        return False
    el = find_child(d.elem, "address")
    return el is not None and any(el.get(k) is None for k in ("domain", "bus", "slot", "function"))


def _primary_video_first(domain: Domain, edits: TextEdits | None) -> None:
    """Move the primary video before the other videos, where libvirt's list has it.

    libvirt keeps the primary video first and writes it so; tools that pair videos by their order
    (as libvirt's own output does) need the same order to see the same addresses.
    """
    elements = [v.elem for v in domain.lists["video"] if v.elem is not None]
    if not elements:
        return
    primary = elements[0]
    parent = primary.getparent()
    if parent is None:
        return
    first = min(elements, key=parent.index)  # all are children of <devices>
    if primary is first:
        return
    if edits is not None:
        edits.children_change(parent)
    prev = primary.getprevious()
    if prev is not None:
        prev.tail, primary.tail = primary.tail, prev.tail
    first.addprevious(primary)


def write_back(domain: Domain) -> None:
    """Write the addresses and added devices into the document: into its tree, or as text when
    the document is being written so (:func:`~virtaddr.xmldoc.edits.edits_for`)."""
    edits = edits_for(domain.root)
    _primary_video_first(domain, edits)
    # New <address> children are made together (new_elements), per namespace of their device,
    # or written as text right away.
    new_addresses: dict[str | None, list[Device]] = {}
    quote = edits.quote if edits is not None else ""
    for d in domain.walk():
        elem = d.elem
        if elem is None:
            continue
        if d.tag == "controller":
            if edits is not None:
                edits.attributes_changed(elem)  # the stages may have set its type='ide'
            _update_controller(d, edits)
        if d.addr_type is not None:
            if d.addr_dirty or _needs_completion(d):
                address = _address_of(d)
                if address is not None:
                    if edits is not None:
                        edits.attributes_changed(address)
                    set_address(elem, format_address(d.addr_type, d.addr))
                    _write_zpci(d, address, edits)
                elif edits is not None and not edits.builds_children(elem):
                    edits.append(elem, _address_text(d, None, quote, _prefix(elem)))
                else:
                    new_addresses.setdefault(namespace(str(elem.tag)), []).append(d)
        elif d.addr_dirty:
            _remove_address(d, edits)
    for uri, devices in new_addresses.items():
        specs = [
            ("address", format_address(d.addr_type or "", d.addr), _zpci_spec(d)) for d in devices
        ]
        for d, address in zip(devices, new_elements(specs, uri), strict=True):
            assert d.elem is not None
            append_child(d.elem, address)
    console = domain.compat_console()  # outside the walk; shows serial 0's address (pSeries)
    if console is not None and console.elem is not None and console.addr_dirty:
        _write_compat_console(console, edits)
    added = [
        d
        for d in domain.added
        if not (d.tag == "controller" and d.model is None and d.index is None)
    ]
    if added:
        _insert_added(domain, added, edits)


def _address_text(
    d: Device,
    attrs: list[tuple[str, str]] | None,
    q: str,
    prefix: str,
    indent: str | None = None,
    unit: str = "",
) -> str:
    """``d``'s new ``<address>`` (with ``attrs``, or formatted here) as :func:`spec_texts`
    writes it: its ``<zpci>`` on a line of its own when the address's ``indent`` is given."""
    text = _attributes_text(attrs or format_address(d.addr_type or "", d.addr), q)
    ids = d.zpci_ids
    if not ids:
        return f"<{prefix}address{text}/>"
    zpci = f"<{prefix}zpci{_attributes_text(zpci_kind.format_attrs(ids), q)}/>"
    if indent is None:
        return f"<{prefix}address{text}>{zpci}</{prefix}address>"
    return f"<{prefix}address{text}>\n{indent}{unit}{zpci}\n{indent}</{prefix}address>"


def _attributes_text(attrs: Sequence[tuple[str, str]], q: str) -> str:
    """Attributes as text; the values need no escaping (numbers and names virtaddr writes;
    :func:`_added_texts` checks the others)."""
    return "".join([f" {k}={q}{v}{q}" for k, v in attrs])


def _prefix(elem: etree._Element) -> str:
    """What a new child's name starts with to be in ``elem``'s namespace: ``lv:`` or nothing."""
    return f"{elem.prefix}:" if elem.prefix else ""


def _added_layout(devices: etree._Element) -> tuple[str, str] | None:
    return sibling_layout(devices, parent_indent_unit(devices))


def _insert_added(domain: Domain, added: list[Device], edits: TextEdits | None) -> None:
    """Put the added devices into ``<devices>``, each after the last one of its tag, else of the
    nearest tag before it in libvirt's order, laid out like its siblings."""
    devices = domain.devices_elem
    if devices is None:
        if edits is not None:
            edits.children_change(domain.root)
        devices = insert_element(domain.root, new_element(_qualify(domain, "devices")))
        domain.devices_elem = devices
    layout = _added_layout(devices)  # their content is laid out as they are made
    same_namespace = str(devices.tag) == _qualify(domain, "devices")
    if edits is not None:
        if (
            layout is not None
            and same_namespace
            and len(devices)
            and not (edits.builds_children(devices))
        ):
            _insert_added_texts(devices, added, layout, edits)
            return
        edits.children_change(devices)
    elements = new_elements([_spec(d) for d in added], domain.ns, layout)
    # The last child of each device tag (insert_element's ``after`` without rescanning
    # <devices> for each of hundreds of added controllers).
    tag = str(devices.tag)
    devices_prefix = ns_prefix(tag)
    last: dict[str, etree._Element] = {}
    for child in devices:
        if isinstance(child.tag, str):
            last[child.tag] = child
    anchors: dict[str, tuple[str, ...]] = {}
    laid_out = layout is not None and same_namespace  # as they were made for
    for d, elem in zip(added, elements, strict=True):
        anchor = _anchor(last, devices_prefix, d.tag, anchors)
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


AnchorT = TypeVar("AnchorT")


def _anchor(
    last: dict[str, AnchorT], prefix: str, tag: str, cache: dict[str, tuple[str, ...]]
) -> AnchorT | None:
    """Where an added ``tag`` goes: after the last element of its tag (``last``, by qualified
    tag), else of the nearest tag before it in libvirt's order; None when there is none.
    ``cache`` keeps each tag's list of candidates (itself and the tags before it)."""
    names = cache.get(tag)
    if names is None:
        pos = DEVICE_ORDER.index(tag)
        names = cache[tag] = tuple(prefix + t for t in reversed(DEVICE_ORDER[: pos + 1]))
    for name in names:
        anchor = last.get(name)
        if anchor is not None:
            return anchor
    return None


def _insert_added_texts(
    devices: etree._Element, added: list[Device], layout: tuple[str, str], edits: TextEdits
) -> None:
    """:func:`_insert_added` as text: the same places, the same layout, no element built."""
    texts = _added_texts(added, layout, edits.quote, _prefix(devices))
    devices_prefix = ns_prefix(str(devices.tag))
    last: dict[str, etree._Element | Piece] = {}
    for child in devices:
        if isinstance(child.tag, str):
            last[child.tag] = child
    end: etree._Element | Piece = devices[-1]  # where insert_element would append
    anchors: dict[str, tuple[str, ...]] = {}
    indent = "\n" + layout[0]
    for d, text in zip(added, texts, strict=True):
        anchor = _anchor(last, devices_prefix, d.tag, anchors)
        if anchor is None:
            anchor = end
        piece = edits.insert_after(anchor, indent + text)
        if anchor is end:
            end = piece
        last[devices_prefix + d.tag] = piece


def _added_texts(added: list[Device], layout: tuple[str, str], q: str, prefix: str) -> list[str]:
    """The text of each added device as :func:`spec_texts` writes its :func:`_spec`, laid out
    with ``layout``, without making the specs (thousands of devices with ``--grow deep``)."""
    indent, unit = layout
    inner = indent + unit
    child_line = "\n" + inner
    closing = "\n" + indent
    # The attribute values are names and numbers virtaddr chose, written as they are; the text
    # of all of them is checked once at the end for anything to escape.
    attributes: list[str] = []
    texts = []
    for d in added:
        tag = prefix + d.tag
        attrs = d.attrs
        if d.tag == "controller":
            model = d.model
            if model is not None and d.get("type") in ("usb", "scsi", "pci"):
                attrs = [*attrs, ("model", model)]
        head = _attributes_text(attrs, q)
        attributes.append(head)
        kids = []
        for ctag, cattrs in d.children:
            text = _attributes_text(cattrs, q)
            attributes.append(text)
            kids.append(f"{child_line}<{prefix}{ctag}{text}/>")
        model_name = d.model_name
        if model_name:
            text = f" name={q}{model_name}{q}"
            attributes.append(text)
            kids.append(f"{child_line}<{prefix}model{text}/>")
        target = d.filled_target
        if target:
            text = _attributes_text(list(target.items()), q)
            attributes.append(text)
            kids.append(f"{child_line}<{prefix}target{text}/>")
        if d.addr_type is not None:
            kids.append(child_line + _address_text(d, None, q, prefix, inner, unit))
        if kids:
            texts.append(f"<{tag}{head}>{''.join(kids)}{closing}</{tag}>")
        else:
            texts.append(f"<{tag}{head}/>")
    written = "".join(attributes)
    if _ATTR_SPECIAL.search(written) or written.count(q) != 2 * written.count("="):
        return spec_texts([_spec(d) for d in added], layout, q, prefix)  # rare: escapes
    return texts


_ATTR_SPECIAL = re.compile(r"[&<\n\r\t]")


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
    return [("zpci", zpci_kind.format_attrs(ids), ())]


def _update_controller(c: Device, edits: TextEdits | None) -> None:
    assert c.elem is not None
    el = c.elem
    changed = False
    values = {str(k): str(v) for k, v in el.attrib.items()}
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
        if edits is not None:
            edits.children_change(el)
        model = new_element("model", [("name", c.model_name)])
        model.tag = _qualified_like(el, "model")
        insert_element(el, model, before=("target", "driver", "alias", "address"))
    target_values = c.filled_target
    if target_values:
        target = find_child(el, "target")
        if target is None:
            if edits is not None:
                edits.children_change(el)
            target = new_element(_qualified_like(el, "target"), list(target_values.items()))
            insert_element(el, target, after=("model",), before=("driver", "alias", "address"))
        else:
            if edits is not None:
                edits.attributes_changed(target)
            for k, v in target_values.items():
                target.set(k, v)


def _qualified_like(el: etree._Element, name: str) -> str:
    tag = str(el.tag)
    return ns_prefix(tag) + name


__all__ = ["format_address", "local", "write_back"]
