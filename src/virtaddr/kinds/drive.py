"""Drive addresses (IDE, SATA, SCSI, floppy): controller, bus, target, unit.

The bounds are wide (16 bits each); the pools of a controller narrow them, e.g. an IDE
controller to buses 0..1, target 0, units 0..1.
"""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

KIND = AddressKind(
    "drive",
    (
        Field("controller", 0, 0xFFFF),
        Field("bus", 0, 0xFFFF),
        Field("target", 0, 0xFFFF),
        Field("unit", 0, 0xFFFF),
    ),
)

#: ``<address type='drive'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("drive", tuple(Attr(f.name) for f in KIND.fields), kind=KIND)
