"""Every ``<address type=...>`` libvirt knows, by name: the declarations of the kind modules.

The one table the libvirt model reads ``<address>`` elements with and the write-back writes them
with; ``schemas/address.xsd`` is held equal to it by a test.
"""

from __future__ import annotations

from virtaddr.kinds import (
    ccid,
    ccw,
    dimm,
    drive,
    isa,
    pci,
    spapr_vio,
    usb,
    virtio_mmio,
    virtio_serial,
)
from virtaddr.kinds.attrs import AddressType

__all__ = ["ADDRESS_TYPES"]

#: By type name, in libvirt's order of its address type enumeration (as the schema lists them).
ADDRESS_TYPES: dict[str, AddressType] = {
    t.name: t
    for t in (
        pci.ADDRESS,
        drive.ADDRESS,
        virtio_serial.ADDRESS,
        ccid.ADDRESS,
        usb.ADDRESS,
        dimm.ADDRESS,
        isa.ADDRESS,
        ccw.ADDRESS,
        spapr_vio.ADDRESS,
        virtio_mmio.ADDRESS,
        # Types a domain may carry that have no fields: the s390 legacy transport, and a
        # host device libvirt must not give a guest address to.
        AddressType("virtio-s390"),
        AddressType("unassigned"),
    )
}
