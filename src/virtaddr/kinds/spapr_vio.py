"""spapr-vio addresses of pSeries guests: one 32-bit ``reg``, written ``0x%08x``.

libvirt starts each device kind at QEMU's default reg (:data:`DEFAULT_REG`) and steps by
:data:`STEP` past regs other devices hold.
"""

from __future__ import annotations

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.kinds.attrs import AddressType, Attr

__all__ = ["ADDRESS", "DEFAULT_REG", "KIND", "MAX_REG", "STEP"]

MAX_REG = 0xFFFFFFFF
STEP = 0x1000
# QEMU's defaults per device kind (spapr_llan, spapr_vscsi, spapr_vty, spapr_nvram, tpm_spapr).
DEFAULT_REG = {"net": 0x1000, "scsi": 0x2000, "serial": 0x30000000, "nvram": 0x3000, "tpm": 0x4000}

KIND = AddressKind("spapr-vio", (Field("reg", 0, MAX_REG, hex_width=8),))

#: ``<address type='spapr-vio'>``: the reg, automatic base, written ``0x%08x`` when known.
ADDRESS = AddressType(
    "spapr-vio",
    (
        Attr.of_field(
            KIND.fields[0],
            auto_base=True,
            limit_message="spapr-vio reg='{value:#x}' exceeds maximum possible value (0xffffffff)",
            reader_max=2**64 - 1,  # read as an unsigned long long, then held to 32 bits
        ),
    ),
    kind=KIND,
    written_if="reg",
)
