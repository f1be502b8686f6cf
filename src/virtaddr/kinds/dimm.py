"""DIMM (memory device) addresses: the slot, up to the domain's ``maxMemory slots``."""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["KIND"]

KIND = AddressKind("dimm", (Field("slot", 0, 0xFF),))
