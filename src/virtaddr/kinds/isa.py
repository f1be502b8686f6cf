"""ISA addresses (x86 serial ports, the PC speaker): ``iobase`` and ``irq``.

libvirt never assigns them, so there is no allocator kind: only how the element is read and
written (automatic base; each written in hex when set, as libvirt formats them).
"""

from __future__ import annotations

from virtaddr.kinds.attrs import IF_SET, AddressType, Attr

__all__ = ["ADDRESS"]

ADDRESS = AddressType(
    "isa",
    (
        Attr("iobase", auto_base=True, hex_width=1, hi=0xFFFF, write=IF_SET),
        Attr("irq", auto_base=True, hex_width=1, write=IF_SET),
    ),
)
