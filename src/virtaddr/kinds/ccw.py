"""CCW (channel I/O) addresses of s390 guests: cssid, ssid, devno, written ``fe.0.0007``.

libvirt gives virtio devices addresses in channel subsystem ``0xfe`` (the one QEMU reserves for
virtio-ccw), subchannel set ``0``, from devno ``0x0000`` up; users may write any cssid up to
``0xfe`` and any ssid up to ``3``.
"""

from __future__ import annotations

from collections.abc import Sequence

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import AddressType, Attr

__all__ = ["ADDRESS", "KIND", "MAX_CSSID", "MAX_SSID", "VIRTIO_CSSID", "format_address"]

MAX_CSSID = 0xFE
MAX_SSID = 3
VIRTIO_CSSID = 0xFE


def format_address(address: Sequence[int]) -> str:
    """``(0xfe, 0, 7)`` -> ``'fe.0.0007'`` (libvirt's notation in its messages)."""
    cssid, ssid, devno = address
    return f"{cssid:x}.{ssid:x}.{devno:04x}"


KIND = AddressKind(
    "ccw",
    (
        Field("cssid", 0, MAX_CSSID, hex_width=1),
        Field("ssid", 0, MAX_SSID, hex_width=1),
        Field("devno", 0, 0xFFFF, hex_width=4),
    ),
    format_address=format_address,
)

#: ``<address type='ccw'>``: automatic base; written only with a devno, all three in hex. The
#: all-or-none and bounds checks are one message, in the libvirt model.
ADDRESS = AddressType(
    "ccw",
    tuple(Attr.of_field(f, auto_base=True) for f in KIND.fields),
    kind=KIND,
    written_if="devno",
)
