"""A device of a domain: its element, what libvirt decides about it, and its address."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from virtaddr.kinds import zpci as zpci_kind
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import ON_OFF, UINT, AddressType
from virtaddr.libvirt.attrs import NO_ADDRESS_TYPE, bad_value_message
from virtaddr.libvirt.problems import ERROR, Problem
from virtaddr.libvirt.usbport import parse_usb_port
from virtaddr.xmldoc.names import local
from virtaddr.xmldoc.numbers import parse_uint


class Device:
    """One device: a view over its ``<element>`` (or a device virtaddr adds, with no element yet).

    ``addr_type``/``addr`` hold the address as libvirt sees it at this point of the pipeline;
    ``addr_dirty`` says it must be written back. ``source`` names the input the element comes
    from and ``lines_known`` says whether its source lines are that input's (not for a domain
    modified in memory): :meth:`error` makes a problem complete with both.

    The other fields are what libvirt decides about the device on the way, each set by the
    stage that decides it and read by the later ones (typed slots, not a dict: the PCI pass reads
    them for every device in its two runs):

    - ``index``: a controller's index as libvirt reads it (``-1`` when absent or bad) or fills it
      in; ``None`` until the indexes are read, when messages still show the attribute as written.
    - ``index_dirty``/``model_dirty``: the controller's ``index``/``model`` attribute was filled
      in, so the write-back writes it.
    - ``model``: the effective model (controllers, interfaces, videos, memballoons) once the
      device defaults settled it: libvirt's later rules read that one, never the attribute
      again; ``None`` before (or when there is none).
    - ``bus``: a disk's or input's effective bus, worked out once from its element (the drive,
      USB, PCI and virtio-mmio stages all pick their devices by it).
    - ``pci_flags``: the connect flags the PCI pass gives the device (``0``: not a PCI device);
      ``check`` and the deep growth read them too.
    - ``model_name``/``filled_target``: a PCI controller's ``<model name>`` and ``<target>``
      attributes libvirt fills in, for the write-back.
    - ``zpci_ids``: an s390 PCI device's ``uid``/``fid`` once settled (``<zpci>`` written back).
    """

    __slots__ = (
        "_kids",
        "_kids_len",
        "_kids_of",
        "addr",
        "addr_dirty",
        "addr_type",
        "attrs",
        "bus",
        "children",
        "controller_type",
        "elem",
        "filled_target",
        "index",
        "index_dirty",
        "lines_known",
        "model",
        "model_dirty",
        "model_name",
        "pci_flags",
        "seq",
        "source",
        "tag",
        "zpci_ids",
    )

    def __init__(
        self,
        tag: str,
        elem: etree._Element | None = None,
        source: str | None = None,
        lines_known: bool = True,
    ) -> None:
        self.tag = tag
        self.elem = elem
        self.source = source
        self.lines_known = lines_known
        self.addr_type: str | None = None
        self.addr: dict[str, Any] = {}
        self.addr_dirty = False
        # what libvirt decides (see the class docstring)
        self.index: int | None = None
        self.index_dirty = False
        self.model: str | None = None
        self.model_dirty = False
        self.bus: str | None = None
        self.pci_flags = 0
        self.model_name: str | None = None
        self.filled_target: dict[str, str] | None = None
        self.zpci_ids: dict[str, int] | None = None
        # For devices virtaddr adds: attributes and simple children of the new element.
        # (shared empty tuples until set: most devices are read, not added)
        self.attrs: Sequence[tuple[str, str]] = ()
        self.children: Sequence[tuple[str, list[tuple[str, str]]]] = ()
        self.seq = 0
        # A controller's type, read when it is inserted into the domain's controller list.
        self.controller_type: str | None = None
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
        """The element's line in ``source`` (None for a device virtaddr adds, or when the lines
        are not the input's)."""
        elem = self.elem
        if elem is None or not self.lines_known:
            return None
        line: int | None = elem.sourceline  # type: ignore[assignment]  # lxml-stubs: or Ellipsis
        return line

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

    @property
    def settled_index(self) -> int:
        """The controller's index once the stages have settled it (from the stage 'missing
        controller indexes' on, every controller has one)."""
        index = self.index
        assert index is not None, "a controller index read before the indexes are settled"
        return index

    def describe(self) -> str:
        """A short human name: ``disk vda``, ``controller pci 3``, ``interface #2``."""
        t = self.tag
        if t == "disk":
            dev = self.child_get("target", "dev")
            return f"disk {dev}" if dev else "disk"
        if t == "controller":
            idx = self.index if self.index is not None else self.get("index")
            return f"controller {self.get('type')} index {idx}"
        kind = self.get("type") or self.get("model") or ""
        name = f"{t} {kind}".strip()
        return f"{name} #{self.seq}" if self.seq else name

    def error(self, message: str) -> Problem:
        """An error about this device, located: its source, its line and its name."""
        return Problem(ERROR, message, self.line, self.describe(), self.source)

    # ---------------------------------------------------------------- addresses
    def read_address(self, without_type: str = NO_ADDRESS_TYPE) -> list[Problem]:
        """Parse the ``<address>`` child into ``addr_type``/``addr``; return the problems.

        ``without_type``: the parser's words for an address without a type (they changed
        between libvirt versions: ``LibvirtRules.address_without_type``)."""
        el = self.child("address")
        if el is None:
            self.addr_type = None
            self.addr = {}
            return []
        atype = el.get("type")
        if atype is None:
            return [self.error(without_type)]
        spec = ADDRESS_TYPES.get(atype)
        if spec is None:
            return [self.error(f"unknown address type '{atype}'")]
        self.addr_type = atype
        addr: dict[str, Any] = {}
        errors: list[Problem] = []
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
                if value is None or value > attr.reader_max:
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
        limited = spec.limited
        if atype == "pci" and not any(addr.get(n, 0) for n in ("domain", "bus", "slot")):
            limited = ()  # an address libvirt picks itself: a function past 7 is not refused
        for attr in limited:
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
        return bool(a.get("domain", 0) == 0 and a.get("bus", 0) == 0 and a.get("slot", 0) == 0)


def _check_ccw_address(
    dev: Device, spec: AddressType, addr: dict[str, Any], el: etree._Element
) -> list[Problem]:
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


def _read_zpci(dev: Device, addr: dict[str, Any], el: etree._Element) -> list[Problem]:
    """The ``<zpci uid fid>`` child of a PCI address into ``addr['zpci']`` (absent ids left out)."""
    zpci = next((c for c in el if local(c.tag) == "zpci"), None)
    if zpci is None:
        return []
    ids: dict[str, int] = {}
    for field in zpci_kind.FIELDS:
        name = field.name
        text = zpci.get(name)
        if text is None:
            continue
        value = parse_uint(text, auto_base=True)
        if value is None:
            return [dev.error(bad_value_message(name, "zpci", text))]
        too_big = zpci_kind.limit_message(field, value)
        if too_big is not None:
            return [dev.error(too_big)]
        ids[name] = value
    addr["zpci"] = ids
    return []
