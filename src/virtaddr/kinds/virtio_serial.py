"""virtio-serial addresses: controller, bus (always 0 with QEMU), port (1.. for channels)."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import UINT32_MAX, AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

KIND = AddressKind(
    "virtio-serial",
    (
        Field("controller", 0, UINT32_MAX),
        Field("bus", 0, UINT32_MAX),
        Field("port", 0, UINT32_MAX),
    ),
)

#: ``<address type='virtio-serial'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("virtio-serial", tuple(Attr.of_field(f) for f in KIND.fields), kind=KIND)
