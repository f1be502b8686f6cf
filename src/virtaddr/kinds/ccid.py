"""CCID (smartcard) addresses: controller, slot."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

KIND = AddressKind("ccid", (Field("controller", 0, 0xFFFF), Field("slot", 0, 0xFF)))

#: ``<address type='ccid'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("ccid", tuple(Attr(f.name) for f in KIND.fields), kind=KIND)
