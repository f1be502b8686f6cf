"""Define-time refusals specific to the other architectures (rules document, section 11.5)."""

from __future__ import annotations

from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.spapr_phb import check_phb_target_indexes
from virtaddr.passes.versions import LibvirtRules


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


def video_model_refusals(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """Videos of a model the guest architecture's QEMU lacks (device validation, which checks
    the model before anything else of the video), in list order."""
    missing = rules.missing_video_models.get(domain.machine.arch)
    if not missing:
        return []
    return [
        v.error(f"domain configuration does not support video model '{v.model}'")
        for v in domain.lists["video"]
        if v.model in missing
    ]
