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
