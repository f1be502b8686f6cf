"""virtio-serial addresses: controller, bus (always 0 with QEMU), port (1.. for channels)."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["KIND"]

KIND = AddressKind(
    "virtio-serial",
    (
        Field("controller", 0, 0xFFFF),
        Field("bus", 0, 0xFFFF),
        Field("port", 0, 0xFFFF),
    ),
)
