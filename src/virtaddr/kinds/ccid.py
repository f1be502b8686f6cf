"""CCID (smartcard) addresses: controller, slot."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import UINT32_MAX, AddressType, Attr

__all__ = ["ADDRESS", "KIND"]

#: Both fields are libvirt's ``unsigned int``.
KIND = AddressKind("ccid", (Field("controller", 0, UINT32_MAX), Field("slot", 0, UINT32_MAX)))

#: ``<address type='ccid'>``: decimal numbers, each libvirt's ``unsigned int``.
ADDRESS = AddressType("ccid", tuple(Attr.of_field(f) for f in KIND.fields), kind=KIND)
