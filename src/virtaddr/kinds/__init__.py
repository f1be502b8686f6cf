"""Address kinds: one small declarative module per address type.

Each module declares ``KIND``, an :class:`~virtaddr.alloc.AddressKind` (field names and bounds,
first most significant), plus text conversions where users write addresses as text, and, for
the types libvirt writes in ``<address>``, ``ADDRESS``: a :class:`~virtaddr.kinds.attrs.AddressType`
saying how libvirt reads and writes each attribute (:mod:`~virtaddr.kinds.address_types` lists
them all). Adding a kind is a declaration; the allocator, the model's reader and the write-back
need no new code. Standard library only.

=================  ======================================================
module             fields
=================  ======================================================
``pci``            domain, bus, slot, function
``drive``          controller, bus, target, unit
``virtio_serial``  controller, bus, port
``usb``            bus, p1, p2, p3, p4 (a port path such as ``1.2``)
``ccid``           controller, slot
``dimm``           slot
``ccw``            cssid, ssid, devno (s390)
``spapr_vio``      reg (pSeries)
``zpci``           uid, fid: two kinds (s390 PCI)
``virtio_mmio``    none: no allocator kind, only its name
``isa``            iobase, irq: no allocator kind (never assigned)
``ip``             IPv4 (four octets) and IPv6 (one 128-bit field)
``disk_names``     index (``sda`` is 0, ``sdaa`` 26)
=================  ======================================================
"""

from virtaddr.alloc.kind import AddressKind, Field

__all__ = ["AddressKind", "Field"]
