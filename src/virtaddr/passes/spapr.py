"""spapr-vio ``reg`` values (``qemuDomainAssignSpaprVIOAddresses``).

Nets, then controllers, serials, the nvram and TPMs, each in list order: a device of a spapr-vio
kind gets the spapr-vio type; one without a ``reg`` starts at its kind's default
(:data:`~virtaddr.kinds.spapr_vio.DEFAULT_REG`) and steps by 0x1000 past every reg another
device holds (user-written regs count even on devices processed later); a user-written reg that
another device holds is an error.
"""

from __future__ import annotations

from virtaddr.errors import Collision
from virtaddr.kinds import spapr_vio
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import controller_model

ATYPE = "spapr-vio"


def _kinds(domain: Domain) -> list[tuple[Device, str, bool]]:
    """(device, kind, whether libvirt makes it spapr-vio) in libvirt's processing order."""
    pseries = domain.machine.family == "pseries"
    out: list[tuple[Device, str, bool]] = []
    for n in domain.lists["net"]:
        out.append((n, "net", n.model == "spapr-vlan"))
    for c in domain.lists["controller"]:
        out.append((c, "scsi", c.get("type") == "scsi" and controller_model(c) == "ibmvscsi"))
    for s in domain.lists["serial"]:
        target = s.child_get("target", "type")
        out.append((s, "serial", target == "spapr-vio-serial" or (pseries and target is None)))
    for n in domain.lists["nvram"][:1]:
        out.append((n, "nvram", pseries))
    for t in domain.lists["tpm"]:
        out.append((t, "tpm", pseries and t.get("model") != "spapr-tpm-proxy"))
    return out


def assign_spapr_vio(domain: Domain) -> list[Problem]:
    """Every architecture: libvirt gives a ``reg`` to a spapr-vio address on x86 too (an
    interface or an ibmvscsi controller there; both daemons checked)."""
    kinds = _kinds(domain)
    if not any(make_vio or d.addr_type == ATYPE for d, _, make_vio in kinds) and not any(
        d.addr_type == ATYPE for d in domain.walk()
    ):
        return []
    from virtaddr.alloc.space import AddressSpace  # loaded only where spapr-vio is used

    space = AddressSpace(spapr_vio.KIND)
    space.add_pool(spapr_vio.KIND.bounds, name="spapr-vio")
    taken_twice: set[int] = set()
    for d in domain.walk():
        if d.addr_type == ATYPE and "reg" in d.addr:
            try:
                space.reserve((d.addr["reg"],), d)
            except Collision:
                taken_twice.add(d.addr["reg"])
    for d, kind, make_vio in kinds:
        if make_vio and d.addr_type != ATYPE:
            d.set_address(ATYPE, _reinterpreted(d))
        if d.addr_type != ATYPE:
            continue
        if "reg" in d.addr:
            reg = d.addr["reg"]
            if reg in taken_twice:
                return [d.error(f"spapr-vio address {reg:#x} already in use")]
            d.addr_dirty = True  # libvirt writes the reg in its own format
            continue
        reg = spapr_vio.DEFAULT_REG[kind]
        while not space.is_free((reg,)):
            reg += spapr_vio.STEP
        space.reserve((reg,), d)
        d.set_address(ATYPE, {"reg": reg})
    _console_follows_serial(domain)
    return []


def _reinterpreted(d: Device) -> dict[str, int]:
    """What libvirt reads as spapr-vio fields from another address it overrides.

    libvirt only changes the address *type* (its address is a C union): a PCI address's domain
    and bus become the reg, and a non-zero slot makes the reg count as user-written.
    """
    if d.addr_type != "pci" or not d.addr.get("slot", 0) & 0xFF:
        return {}
    return {"reg": d.addr.get("domain", 0) | d.addr.get("bus", 0) << 32}


def _console_follows_serial(domain: Domain) -> None:
    """The first console, a copy of serial 0, shows serial 0's spapr-vio address."""
    console = domain.compat_console()
    serials = domain.lists["serial"]
    if console is None or not serials or serials[0].addr_type != ATYPE:
        return
    console.set_address(ATYPE, dict(serials[0].addr))
