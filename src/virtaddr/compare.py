"""Compare the device addresses of two domain definitions, by the oracle's rules.

This is the comparison of ``../shared/oracle/compare-addresses`` (libvirt's truth against ours),
re-implemented offline so that tests and test harnesses need no oracle: controllers pair by
``(type, index)`` (USB companions also by ``ich9-uhciN`` model or ``<master startport>``),
disks by ``<target dev>``, every other device by element name + its order among the elements of
that name and kind (kind: ``type`` attribute; type + bus for ``<input>``; target type for
chardevs; nothing for sound/video/rng/...). Addresses compare as numbers (any base as libvirt
reads it, absent = 0, ``multifunction='off'`` = absent, USB port paths numerically);
controllers also by model, ``<model name>`` and ``<target>`` attributes.
"""

from __future__ import annotations

import os
import re
from typing import Any

from lxml import etree

from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import ALWAYS, UINT
from virtaddr.xmldoc.numbers import parse_uint

__all__ = ["DomainLike", "address_differences", "labelled_devices"]

DomainLike = str | bytes | os.PathLike[str] | etree._Element | etree._ElementTree
"""A domain as the library takes it (see :mod:`virtaddr.api`): XML text or bytes, a path
(``pathlib.Path``; a ``str`` is always text), or an lxml element or tree."""


# Per address type, the numbers libvirt always writes: shown as 0 when absent. (Absent and 0
# compare equal for every number; these only make the differences read like libvirt's XML.)
_ZEROS = {
    name: tuple(a.name for a in spec.attrs if a.value == UINT and a.write == ALWAYS)
    for name, spec in ADDRESS_TYPES.items()
    if spec.written_if is None
}
_CHARDEVS = {"serial", "console", "channel", "parallel"}
_NO_KIND = {
    "sound", "video", "watchdog", "rng", "memballoon", "tpm", "panic", "iommu", "vsock",
    "smartcard", "shmem", "memory", "nvram", "lease", "hub", "redirdev", "crypto", "audio",
    "graphics", "redirfilter", "emulator",
}  # fmt: skip
_USB_PATH = re.compile(r"\s*\d+(\.\d+)+\s*")
_HEXISH = re.compile(r"(0x)?[0-9a-fA-F]+")


def _address(el: etree._Element) -> dict[str, Any] | None:
    addr = el.find("address")
    if addr is None:
        return None
    out: dict[str, Any] = dict.fromkeys(_ZEROS.get(addr.get("type") or "", ()), 0)
    items = [(str(k), str(v)) for k, v in addr.attrib.items()]
    for child in addr:
        if isinstance(child.tag, str):
            items += [(f"{child.tag}.{k!s}", str(v)) for k, v in child.attrib.items()]
    for key, value in items:
        if key == "type":
            out[key] = value
        elif key == "multifunction" and value == "off":
            continue
        elif _USB_PATH.fullmatch(value):
            out[key] = ".".join(str(int(p)) for p in value.strip().split("."))
        else:
            n = parse_uint(value)
            if n is None:
                out[key] = value
            elif n != 0 or key in out:
                out[key] = n
    return out


def _kind(el: etree._Element, serial_default: str) -> str | None:
    tag = el.tag
    if tag in _CHARDEVS:
        target = el.find("target")
        ttype = target.get("type") if target is not None else None
        return ttype or {"serial": serial_default, "console": "serial"}.get(tag)
    if tag == "input":
        itype = el.get("type")
        bus = el.get("bus") or ("ps2" if itype in ("mouse", "keyboard") else "usb")
        return f"{itype}/{bus}"
    if tag in _NO_KIND:
        return None
    return el.get("type") or ("mount" if tag == "filesystem" else None)


def _index_number(text: str) -> int | None:
    """A controller's index as the oracle's comparison reads it (C ``strtoul`` base 0, so a
    sign is allowed: ``'+1'`` is 1), or None when it is no number."""
    text = text.strip()
    return parse_uint(text[1:] if text[:1] == "+" else text)


def _serial_default(arch: str, machine: str) -> str:
    """The target type a serial written without one has, as the oracle's comparison names it
    (pSeries: spapr-vio, s390: sclp, x86: isa, the ARM and RISC-V boards: system)."""
    if arch.startswith("ppc") and machine.startswith("pseries"):
        return "spapr-vio-serial"
    if arch.startswith("s390"):
        return "sclp-serial"
    return "isa-serial" if arch in ("x86_64", "i686") else "system-serial"


def _identities(root: etree._Element) -> list[tuple[tuple[Any, ...], etree._Element]]:
    devs = root.find("devices")
    if devs is None:
        return []
    ostype = root.find("os/type")
    arch = (ostype.get("arch") if ostype is not None else None) or "x86_64"
    machine = (ostype.get("machine") if ostype is not None else None) or ""
    serial_default = _serial_default(arch, machine)
    out: list[tuple[tuple[Any, ...], etree._Element]] = []
    ordinal: dict[tuple[Any, ...], int] = {}
    repeats: dict[tuple[Any, ...], int] = {}
    for el in devs:
        if not isinstance(el.tag, str) or el.tag == "emulator":
            continue
        target = el.find("target")
        key: tuple[Any, ...]
        if el.tag == "controller":
            index = el.get("index")
            model = el.get("model") or ""
            master = el.find("master")
            if model.startswith("ich9-uhci"):
                companion: str | None = model
            elif master is not None:
                companion = f"startport={master.get('startport', '0')}"
            else:
                companion = None
            number = _index_number(index) if index is not None else None
            key = ("controller", el.get("type"), number, companion)
        elif el.tag == "disk" and target is not None and target.get("dev"):
            key = ("disk", target.get("dev"))
        else:
            group = (el.tag, _kind(el, serial_default))
            ordinal[group] = ordinal.get(group, -1) + 1
            key = (*group, ordinal[group])
        repeat = repeats.get(key, -1) + 1
        repeats[key] = repeat
        out.append(((*key, ("repeat", repeat)) if repeat else key, el))
    return out


def _label(key: tuple[Any, ...]) -> str:
    if isinstance(key[-1], tuple):
        return f"{_label(key[:-1])} (repeat {key[-1][1]})"
    if key[0] == "controller":
        return f"controller {key[1]} index={key[2]}" + (f" companion {key[3]}" if key[3] else "")
    if key[0] == "disk":
        return f"disk {key[1]}"
    tag, kind, n = key
    return f"{tag}[{kind}]#{n}" if kind else f"{tag}#{n}"


def _controller_details(el: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {"model": el.get("model")}
    name = el.find("model")
    out["model name"] = name.get("name") if name is not None else None
    target = el.find("target")
    attrib = {str(k): str(v) for k, v in (target.attrib if target is not None else {}).items()}
    for k, v in sorted(attrib.items()):
        out[f"target {k}"] = parse_uint(v) if _HEXISH.fullmatch(v) else v
    return out


def address_differences(expected: DomainLike, actual: DomainLike) -> list[str]:
    """The address differences of domain ``actual`` against domain ``expected``; empty: same.

    Each is XML text or bytes, a path (``pathlib.Path``), or a ``<domain>`` lxml element or
    tree (not modified); text, bytes and files are parsed safely and must be a ``<domain>``
    (:class:`~virtaddr.errors.UnusableInput` otherwise). Each difference is one line:
    ``different NAME: expected {...}, got {...}``, ``missing NAME: ...``, ``extra NAME: ...``,
    ``unexpected NAME: ...`` (an address where ``expected`` has none), ``duplicate NAME: ...``
    (two devices of ``actual`` with one identity) or ``different-model NAME: ...`` (a
    controller's model, ``<model name>`` or ``<target>`` attributes differ).

    >>> from lxml import etree
    >>> a = etree.fromstring("<domain><devices><disk><target dev='vda'/>"
    ...     "<address type='pci' bus='0' slot='3'/></disk></devices></domain>")
    >>> b = etree.fromstring("<domain><devices><disk><target dev='vda'/>"
    ...     "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>"
    ...     "</disk></devices></domain>")
    >>> address_differences(a, b)
    []
    >>> b.find("devices/disk/address").set("slot", "0x04")
    >>> [line.split(":")[0] for line in address_differences(a, b)]
    ['different disk vda']
    >>> address_differences(etree.tostring(a).decode(), etree.tostring(a))  # text, bytes
    []
    """
    problems: list[str] = []
    exp = _identities(_root(expected, "<expected>"))
    act_list = _identities(_root(actual, "<actual>"))
    act: dict[tuple[Any, ...], etree._Element] = {}
    for key, el in act_list:
        act[key] = el
        if isinstance(key[-1], tuple):
            problems.append(f"duplicate {_label(key)}: two devices in ACTUAL with this identity")
    exp_keys = set()
    for key, el in exp:
        exp_keys.add(key)
        want = _address(el)
        other = act.get(key)
        got = _address(other) if other is not None else None
        name = _label(key)
        if want is None:
            if other is None and key[0] == "controller":
                problems.append(f"missing {name}: controller absent in ACTUAL")
            elif got is not None:
                problems.append(f"unexpected {name}: got {got}, EXPECTED has no address")
        elif other is None:
            problems.append(f"missing {name}: expected {want}, device absent in ACTUAL")
        elif got is None:
            problems.append(f"missing {name}: expected {want}, no address in ACTUAL")
        elif got != want:
            problems.append(f"different {name}: expected {want}, got {got}")
        if other is not None and key[0] == "controller":
            w, g = _controller_details(el), _controller_details(other)
            diff = sorted(k for k in set(w) | set(g) if w.get(k) != g.get(k))
            if diff:
                problems.append(
                    f"different-model {name}: expected "
                    + "; ".join(f"{k}={w.get(k)}" for k in diff)
                    + ", got "
                    + "; ".join(f"{k}={g.get(k)}" for k in diff)
                )
    for key, el in act_list:
        if key in exp_keys or isinstance(key[-1], tuple):
            continue
        got = _address(el)
        if key[0] != "controller" and got is None:
            continue  # an added device without an address changes no address
        problems.append(f"extra {_label(key)}: {got} (absent in EXPECTED)")
    return problems


def _root(domain: DomainLike, name: str) -> etree._Element:
    """The ``<domain>`` element of ``domain``; ``name`` names text or bytes in errors."""
    if isinstance(domain, etree._ElementTree):
        return domain.getroot()
    if isinstance(domain, etree._Element):
        return domain
    from virtaddr.xmldoc import xmlio

    if isinstance(domain, str | bytes):
        return xmlio.parse_document(domain, name).tree.getroot()
    if isinstance(domain, os.PathLike):
        return xmlio.read_document(os.fspath(domain)).tree.getroot()
    raise TypeError(
        f"a domain is XML text, bytes, a path or an lxml element, not {type(domain).__name__}"
    )


def labelled_devices(domain: DomainLike) -> list[tuple[str, etree._Element]]:
    """Every device of ``domain`` with the name :func:`address_differences` gives it in its
    lines (``disk vda``, ``controller usb index=0``, ``hostdev[usb]#0``), in document order:
    where a caller needs the element behind a difference (its line, its ``<address>``)."""
    return [(_label(key), el) for key, el in _identities(_root(domain, "<domain>"))]
