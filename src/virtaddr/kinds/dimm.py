"""DIMM (memory device) addresses: the slot, up to the domain's ``maxMemory slots``."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import IF_SET, UINT32_MAX, AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

#: The slot is libvirt's ``unsigned int``; a domain's slot pool narrows it to its slot count.
KIND = AddressKind("dimm", (Field("slot", 0, UINT32_MAX),))

#: ``<address type='dimm'>``: the slot (required, decimal) and the guest physical base
#: (automatic base; written in hex when set).
ADDRESS = AddressType(
    "dimm",
    (
        Attr.of_field(KIND.fields[0], required=True),
        Attr("base", auto_base=True, hex_width=1, hi=2**64 - 1, reader_max=2**64 - 1, write=IF_SET),
    ),
    kind=KIND,
)
