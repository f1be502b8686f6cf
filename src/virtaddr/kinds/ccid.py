"""CCID (smartcard) addresses: controller, slot."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["KIND"]

KIND = AddressKind("ccid", (Field("controller", 0, 0xFFFF), Field("slot", 0, 0xFF)))
