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
    return []
