"""virtio-mmio addresses (ARM/RISC-V boards): ``<address type='virtio-mmio'/>``, no fields.

QEMU's boards number their virtio-mmio transports themselves; libvirt only decides *that* a
device uses one and writes no attribute, so there is nothing to allocate: this kind has no
:class:`~virtaddr.alloc.AddressKind`, only its name and (empty) attribute list.
"""

from __future__ import annotations

from virtaddr.kinds.attrs import AddressType

__all__ = ["ADDRESS", "ATTRIBUTES", "NAME"]

NAME = "virtio-mmio"
ATTRIBUTES: tuple[str, ...] = ()
ADDRESS = AddressType(NAME)
