"""Define-time refusals specific to the other architectures (rules document, section 11.5)."""

from __future__ import annotations

from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.spapr_phb import check_phb_target_indexes


def check_other_arch(domain: Domain) -> list[Problem]:
    machine = domain.machine
    if machine.is_x86:
        return []
    if machine.family == "pseries":
        error = check_phb_target_indexes(domain.controllers("pci"))
        if error is not None:
            return [error]
    for p in domain.lists["panic"]:
        model = p.get("model")
        if p.addr_type is not None and model in ("s390", "pseries", "hyperv"):
            return [
                p.error(f"setting the panic device address is not supported for model '{model}'")
            ]
    for h in domain.lists["hostdev"]:
        if h.tag != "hostdev" or h.get("type") != "mdev" or h.addr_type is None:
            continue
        model = h.get("model")
        wanted = {"vfio-ccw": "ccw", "vfio-pci": "pci"}.get(model or "")
        if wanted is not None and h.addr_type != wanted:
            return [
                h.error(
                    f"Unsupported address type '{h.addr_type}' with mediated device model '{model}'"
                )
            ]
    return []
