"""zPCI identifiers of s390 PCI devices: a ``uid`` (1..0xffff) and a ``fid`` (32 bits).

They are two independent spaces: each device holds one of each, both unique in the domain.
libvirt writes ``<zpci uid='0x%04x' fid='0x%08x'/>`` inside the PCI ``<address>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["FID", "FIELDS", "UID", "format_attrs", "limit_message"]

UID = AddressKind("zpci-uid", (Field("uid", 1, 0xFFFF, hex_width=4),))
FID = AddressKind("zpci-fid", (Field("fid", 0, 0xFFFFFFFF, hex_width=8),))

#: The attributes of ``<zpci>``, in libvirt's order (each read with an automatic base).
FIELDS = (UID.fields[0], FID.fields[0])


def limit_message(field: Field, value: int) -> str | None:
    """libvirt's message for an id outside its field's bounds, or ``None``.

    >>> limit_message(UID.fields[0], 0)
    "Invalid PCI address uid='0x0000', must be > 0x0000 and <= 0xffff"
    """
    if field.lo <= value <= field.hi:
        return None
    above = f"> {field.format(field.lo - 1)} and " if field.lo > 0 else ""
    return (
        f"Invalid PCI address {field.name}='{field.format(value)}', "
        f"must be {above}<= {field.format(field.hi)}"
    )


def format_attrs(ids: Mapping[str, int]) -> list[tuple[str, str]]:
    """``<zpci>``'s attributes as libvirt writes them: ``[('uid', '0x0001'), ('fid', ...)]``."""
    return [(f.name, f.format(ids[f.name])) for f in FIELDS]
