"""virtio-serial addresses: controller, bus (always 0 with QEMU), port (1.. for channels)."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

KIND = AddressKind(
    "virtio-serial",
    (
        Field("controller", 0, 0xFFFF),
        Field("bus", 0, 0xFFFF),
        Field("port", 0, 0xFFFF),
    ),
)

#: ``<address type='virtio-serial'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("virtio-serial", tuple(Attr(f.name) for f in KIND.fields), kind=KIND)
