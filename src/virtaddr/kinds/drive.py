"""Drive addresses (IDE, SATA, SCSI, floppy): controller, bus, target, unit.

Each field is libvirt's ``unsigned int``; the placement narrows the space to the units a
controller offers (a SCSI hostdev: bus 0, target 0, units 0..6).
"""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import UINT32_MAX, AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

KIND = AddressKind(
    "drive",
    (
        Field("controller", 0, UINT32_MAX),
        Field("bus", 0, UINT32_MAX),
        Field("target", 0, UINT32_MAX),
        Field("unit", 0, UINT32_MAX),
    ),
)

#: ``<address type='drive'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("drive", tuple(Attr.of_field(f) for f in KIND.fields), kind=KIND)
