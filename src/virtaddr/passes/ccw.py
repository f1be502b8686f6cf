"""CCW addresses of s390-ccw guests (``qemuDomainAssignS390Addresses``).

Address-less virtio devices (and vfio-ccw mdevs) become CCW devices; every complete address is
recorded in device-walk order (a second use is an error), then each CCW device without one gets
the lowest free devno in ``fe.0``, in device-walk order.
"""

from __future__ import annotations

from virtaddr.errors import Collision, Exhausted
from virtaddr.kinds import ccw
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.mmio import virtio_devices
from virtaddr.passes.versions import LibvirtRules


def assign_ccw(domain: Domain) -> list[Problem]:
    family = domain.machine.family
    if family != "s390-ccw":
        return []  # a CCW address elsewhere is refused by device validation (ccw_misfits)
    _prime_mdevs(domain)
    for d in list(virtio_devices(domain, ccw=True)):
        d.set_address("ccw", {})
    from virtaddr.alloc.space import AddressSpace  # s390 only: x86 runs never load it

    space = AddressSpace(ccw.KIND)
    space.add_pool(ccw.KIND.bounds, name="ccw")
    for d in domain.walk():
        if d.addr_type != "ccw" or len(d.addr) != 3:
            continue
        addr = (d.addr["cssid"], d.addr["ssid"], d.addr["devno"])
        try:
            space.reserve(addr, d)
        except Collision:
            return [d.error(f"The CCW devno '{ccw.format_address(addr)}' is in use already")]
    request = ccw.KIND.request(cssid=ccw.VIRTIO_CSSID, ssid=0)
    for d in domain.walk():
        if d.addr_type != "ccw" or len(d.addr) == 3:
            continue
        try:
            cssid, ssid, devno = space.reserve_first(request, d)
        except Exhausted:
            return [d.error("There are no more free CCW devnos.")]
        d.set_address("ccw", {"cssid": cssid, "ssid": ssid, "devno": devno})
    return []


def _prime_mdevs(domain: Domain) -> None:
    """vfio-ccw mdevs without an address get a CCW one; vfio-ap mdevs lose theirs."""
    for h in domain.lists["hostdev"]:
        if h.tag != "hostdev" or h.get("type") != "mdev":
            continue
        model = h.get("model")
        if model == "vfio-ccw" and h.addr_type is None:
            h.set_address("ccw", {})
        elif model == "vfio-ap" and h.addr_type is not None:
            h.clear_address()


def ccw_misfits(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """Every device with a CCW address on a machine other than s390-ccw, as QEMU's device
    validation refuses it, naming the versioned machine type an alias stands for."""
    machine = domain.machine
    if machine.family == "s390-ccw":
        return []
    name = machine.name or "pc" if machine.is_x86 else machine.name
    if name is not None:
        name = rules.machine_aliases.get((machine.arch, name), name)
    message = rules.ccw_misfit_message.format(machine=name)
    return [d.error(message) for d in domain.walk() if d.addr_type == "ccw"]
