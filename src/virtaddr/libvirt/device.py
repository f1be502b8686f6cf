"""A device of a domain: its element, what libvirt decides about it, and its address."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from virtaddr.errors import AddressError
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import ON_OFF, UINT, AddressType
from virtaddr.libvirt.attrs import bad_value_message
from virtaddr.libvirt.usbport import parse_usb_port
from virtaddr.xmldoc.names import local
from virtaddr.xmldoc.numbers import parse_uint


class Device:
    """One device: a view over its ``<element>`` (or a device virtaddr adds, with no element yet).

    ``addr_type``/``addr`` hold the address as libvirt sees it at this point of the pipeline;
    ``addr_dirty`` says it must be written back. ``props`` holds decisions libvirt makes that
    are not written (effective model, bus, connect flags, ...).
    """

    __slots__ = (
        "_kids",
        "_kids_len",
        "_kids_of",
        "addr",
        "addr_dirty",
        "addr_type",
        "attrs",
        "children",
        "elem",
        "props",
        "seq",
        "tag",
    )

    def __init__(self, tag: str, elem: etree._Element | None = None) -> None:
        self.tag = tag
        self.elem = elem
        self.addr_type: str | None = None
        self.addr: dict[str, Any] = {}
        self.addr_dirty = False
        self.props: dict[str, Any] = {}
        # For devices virtaddr adds: attributes and simple children of the new element.
        # (shared empty tuples until set: most devices are read, not added)
        self.attrs: Sequence[tuple[str, str]] = ()
        self.children: Sequence[tuple[str, list[tuple[str, str]]]] = ()
        self.seq = 0
        # The first child element of each local name, read once (see child()).
        self._kids: dict[str, etree._Element] | None = None
        self._kids_len = -1
        self._kids_of: etree._Element | None = None

    # ---------------------------------------------------------------- element access
    @property
    def is_new(self) -> bool:
        return self.elem is None

    @property
    def line(self) -> int | None:
        return self.elem.sourceline if self.elem is not None else None

    def get(self, name: str, default: str | None = None) -> str | None:
        if self.elem is None:
            for k, v in self.attrs:
                if k == name:
                    return v
            return default
        return self.elem.get(name, default)

    def child(self, name: str) -> etree._Element | None:
        """The first child element whose local name is ``name``.

        The children are indexed on first use, and again when their number changed (the passes
        only ever add or remove children) or the device has another element.
        """
        elem = self.elem
        if elem is None:
            return None
        kids = self._kids
        if kids is None or self._kids_of is not elem or self._kids_len != len(elem):
            kids = self._index_children(elem)
        return kids.get(name)

    def _index_children(self, elem: etree._Element) -> dict[str, etree._Element]:
        kids: dict[str, etree._Element] = {}
        for c in elem:
            tag = c.tag  # a str for an element (a function for a comment or PI)
            if tag.__class__ is str:
                if tag[0] == "{":
                    tag = local(tag)
                if tag not in kids:
                    kids[tag] = c
        self._kids = kids
        self._kids_len = len(elem)
        self._kids_of = elem
        return kids

    def child_get(self, name: str, attr: str) -> str | None:
        """Attribute ``attr`` of :meth:`child` ``name``, or None."""
        c = self.child(name)
        return c.get(attr) if c is not None else None

    def describe(self) -> str:
        """A short human name: ``disk vda``, ``controller pci 3``, ``interface #2``."""
        t = self.tag
        if t == "disk":
            dev = self.child_get("target", "dev")
            return f"disk {dev}" if dev else "disk"
        if t == "controller":
            idx = self.props.get("index", self.get("index"))
            return f"controller {self.get('type')} index {idx}"
        kind = self.get("type") or self.get("model") or ""
        name = f"{t} {kind}".strip()
        return f"{name} #{self.seq}" if self.seq else name

    def error(self, message: str) -> AddressError:
        return AddressError(message, line=self.line, device=self.describe())

    # ---------------------------------------------------------------- addresses
    def read_address(self) -> list[AddressError]:
        """Parse the ``<address>`` child into ``addr_type``/``addr``; return the problems."""
        el = self.child("address")
        if el is None:
            self.addr_type = None
            self.addr = {}
            return []
        atype = el.get("type")
        if atype is None:
            return [self.error("No type specified for device address")]
        spec = ADDRESS_TYPES.get(atype)
        if spec is None:
            return [self.error(f"unknown address type '{atype}'")]
        self.addr_type = atype
        addr: dict[str, Any] = {}
        errors: list[AddressError] = []
        # As the address type declares (virtaddr.kinds): each attribute in libvirt's order, read
        # as libvirt reads it; then the bounds libvirt checks while parsing.
        for attr in spec.attrs:
            name = attr.name
            text = el.get(name)
            if text is None:
                if attr.required:
                    message = f"Missing required attribute '{name}' in element 'address'"
                    errors.append(self.error(message))
                continue
            if attr.value == UINT:
                value = parse_uint(text, auto_base=attr.auto_base)
                if value is None:
                    errors.append(self.error(bad_value_message(name, "address", text)))
                    continue
                addr[name] = value
            elif attr.value == ON_OFF:
                addr[name] = text  # "on"/"off" or what the user wrote, refused later
            elif text != "":  # a USB port path; empty means any port
                parsed = parse_usb_port(text)
                if parsed is None:
                    errors.append(self.error(f"Cannot parse <address> '{name}' attribute"))
                else:
                    addr[name] = parsed
        for attr in spec.limited:
            value = addr.get(attr.name)
            if value is not None and value > attr.hi:
                too_big = attr.limit_error(el.get(attr.name) or "", value)
                if too_big is not None:
                    errors.append(self.error(too_big))
        if not errors and atype == "ccw":
            errors += _check_ccw_address(self, spec, addr, el)
        if atype == "pci":
            errors += _read_zpci(self, addr, el)
        self.addr = addr
        return errors

    def set_address(self, atype: str, values: dict[str, Any]) -> None:
        self.addr_type = atype
        self.addr = dict(values)
        self.addr_dirty = True

    def adopt_address(self, atype: str, values: dict[str, Any]) -> None:
        """:meth:`set_address` with ``values`` kept, not copied: a dict no one else holds."""
        self.addr_type = atype
        self.addr = values
        self.addr_dirty = True

    def clear_address(self) -> None:
        self.addr_type = None
        self.addr = {}
        self.addr_dirty = True

    @property
    def pci(self) -> tuple[int, int, int, int] | None:
        """The PCI address as a tuple, or ``None`` if the device has no (complete) PCI one."""
        if self.addr_type != "pci":
            return None
        a = self.addr
        return (a.get("domain", 0), a.get("bus", 0), a.get("slot", 0), a.get("function", 0))

    def pci_wanted(self) -> bool:
        """Whether libvirt would pick a PCI address for this device (none, or an empty pci one)."""
        if self.addr_type is None:
            return True
        if self.addr_type != "pci":
            return False
        a = self.addr
        return a.get("domain", 0) == 0 and a.get("bus", 0) == 0 and a.get("slot", 0) == 0


def _check_ccw_address(
    dev: Device, spec: AddressType, addr: dict[str, Any], el: etree._Element
) -> list[AddressError]:
    """libvirt's parse-time check of a ccw address: all three fields or none, within bounds,
    as one message with the text of all three."""
    given = [a for a in spec.attrs if a.name in addr]
    if not given:
        return []
    if len(given) != len(spec.attrs):
        return [dev.error("Invalid partial specification for virtio ccw address")]
    if any(addr[a.name] > a.hi for a in spec.attrs):
        return [
            dev.error(
                "Invalid specification for virtio ccw address: "
                f"cssid='{el.get('cssid')}' ssid='{el.get('ssid')}' devno='{el.get('devno')}'"
            )
        ]
    return []


def _read_zpci(dev: Device, addr: dict[str, Any], el: etree._Element) -> list[AddressError]:
    """The ``<zpci uid fid>`` child of a PCI address into ``addr['zpci']`` (absent ids left out)."""
    zpci = next((c for c in el if local(c.tag) == "zpci"), None)
    if zpci is None:
        return []
    ids: dict[str, int] = {}
    for name, limit, shown in (("uid", 0xFFFF, "0xffff"), ("fid", 0xFFFFFFFF, "0xffffffff")):
        text = zpci.get(name)
        if text is None:
            continue
        value = parse_uint(text, auto_base=True)
        if value is None:
            return [dev.error(bad_value_message(name, "zpci", text))]
        if name == "uid" and not 0 < value <= limit:
            shown_uid = f"0x{value:04x}"
            return [
                dev.error(f"Invalid PCI address uid='{shown_uid}', must be > 0x0000 and <= {shown}")
            ]
        if value > limit:
            return [dev.error(f"Invalid PCI address fid='0x{value:08x}', must be <= {shown}")]
        ids[name] = value
    addr["zpci"] = ids
    return []
