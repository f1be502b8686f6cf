"""zPCI identifiers of s390 PCI devices: a ``uid`` (1..0xffff) and a ``fid`` (32 bits).

They are two independent spaces: each device holds one of each, both unique in the domain.
libvirt writes ``<zpci uid='0x%04x' fid='0x%08x'/>`` inside the PCI ``<address>``.
"""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["FID", "UID"]

UID = AddressKind("zpci-uid", (Field("uid", 1, 0xFFFF, hex_width=4),))
FID = AddressKind("zpci-fid", (Field("fid", 0, 0xFFFFFFFF, hex_width=8),))
