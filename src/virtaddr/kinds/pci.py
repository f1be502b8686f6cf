"""PCI addresses: ``domain:bus:slot.function``, written ``0000:01:03.0``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.errors import InvalidAddress
from virtaddr.kinds.attrs import ON_OFF, AddressType, Attr

__all__ = [
    "ADDRESS",
    "FUNCTIONS",
    "KIND",
    "SLOTS",
    "format_address",
    "format_attrs",
    "parse_address",
    "slot_box",
]

SLOTS = 32
FUNCTIONS = 8

_TEXT = re.compile(r"([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])")


def format_address(address: Sequence[int]) -> str:
    """``(0, 1, 3, 0)`` -> ``'0000:01:03.0'`` (lspci's notation)."""
    domain, bus, slot, function = address
    return f"{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"


def parse_address(text: str) -> tuple[int, int, int, int]:
    """``'0000:01:03.0'`` -> ``(0, 1, 3, 0)``; raises InvalidAddress on anything else."""
    m = _TEXT.fullmatch(text.strip())
    if m is None:
        raise InvalidAddress(f"not a PCI address (dddd:bb:ss.f): {text!r}")
    domain, bus, slot, function = KIND.check([int(g, 16) for g in m.groups()])
    return domain, bus, slot, function


KIND = AddressKind(
    "pci",
    (
        Field("domain", 0, 0xFFFF, hex_width=4),
        Field("bus", 0, 0xFF, hex_width=2),
        Field("slot", 0, SLOTS - 1, hex_width=2),
        Field("function", 0, FUNCTIONS - 1, hex_width=1),
    ),
    format_address=format_address,
)


def slot_box(domain: int, bus: int, slot: int) -> list[tuple[int, int]]:
    """All eight functions of a slot, for ``reserve_block``."""
    return [(domain, domain), (bus, bus), (slot, slot), (0, FUNCTIONS - 1)]


def format_attrs(address: Sequence[int]) -> dict[str, str]:
    """The ``<address>`` attribute values with libvirt's hex widths.

    >>> format_attrs((0, 1, 3, 0))
    {'domain': '0x0000', 'bus': '0x01', 'slot': '0x03', 'function': '0x0'}
    """
    t = KIND.check(address)
    return {f.name: f.format(v) for f, v in zip(KIND.fields, t, strict=True)}


#: ``<address type='pci'>``: libvirt reads every number with an automatic base and refuses
#: values past the fields' bounds when parsing (its messages: ``function`` without quotes).
ADDRESS = AddressType(
    "pci",
    (
        *(
            Attr.of_field(
                f,
                auto_base=True,
                limit_message="Invalid PCI address {name}='{text}', must be <= 0x{hi:X}",
            )
            for f in KIND.fields[:3]
        ),
        Attr.of_field(
            KIND.fields[3],
            auto_base=True,
            limit_message="Invalid PCI address {name}={text}, must be <= {hi}",
        ),
        Attr("multifunction", value=ON_OFF),
    ),
    kind=KIND,
)
