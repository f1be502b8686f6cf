"""The define-time pipeline: libvirt's stages as a declared list, read top to bottom.

Like libvirt's ``qemuDomainAssignAddresses`` (with the parse and validation steps of define
around it), :data:`STAGES` runs in order and stops at the first stage that finds a problem, as
libvirt stops at its first error. Each stage says whether ``plan`` (an attach with ``--config``)
runs it too: the devices already stored keep their addresses, and libvirt skips the whole-domain
checks of define. How PCI buses grow is passed in (:data:`LIBVIRT_GROWTH` or
:data:`DEEP_GROWTH`); what differs between libvirt versions will be read by the stages from the
run's rules (see :class:`Run`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

from lxml import etree

from virtaddr.errors import UnusableInput
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes import (
    arch_checks,
    ccw,
    defaults,
    drive,
    mmio,
    other,
    parse_checks,
    pci,
    spapr,
    usb,
    vserial,
    writeback,
)
from virtaddr.passes.result import AssignResult
from virtaddr.passes.validate import (
    AddressMisfits,
    address_misfits,
    check_smartcard_count,
    in_walk_order,
    video_misfits,
)

__all__ = [
    "DEEP_GROWTH",
    "LIBVIRT_GROWTH",
    "STAGES",
    "Growth",
    "Run",
    "Stage",
    "assign_deep",
    "require_supported_guest",
    "rerun_stages",
    "run_pipeline",
]

Growth = Callable[[Domain], list[Problem]]
"""The PCI stage: places every PCI device, adding the buses it needs."""

LIBVIRT_GROWTH: Growth = pci.assign_pci_addresses
"""libvirt's own: pci-bridges where its first pass can plug them, root ports on the root complex."""


def _deep_growth(domain: Domain) -> list[Problem]:
    # imported on use: the module (with its dataclasses) costs every assign ~2 ms otherwise
    from virtaddr.passes import pci_deep

    return pci_deep.assign_pci_addresses_deep(domain)


DEEP_GROWTH: Growth = _deep_growth
"""``--grow deep``: a deeper topology where libvirt's growth gives up (:mod:`.pci_deep`)."""


class Run:
    """What one run of the stages shares: the domain and the choices made for this run.

    The libvirt-version rules the stages read will be carried here, beside the growth.
    """

    __slots__ = ("attach", "domain", "growth", "misfits")

    def __init__(self, domain: Domain, growth: Growth = LIBVIRT_GROWTH, attach: bool = False):
        self.domain = domain
        self.growth = growth
        self.attach = attach
        self.misfits = AddressMisfits()  # judged as written (stage 'address misfits')


class Stage(NamedTuple):
    """One step of define: its name, what it does, and whether an attach runs it too."""

    name: str
    run: Callable[[Run], list[Problem]]
    at_define: bool = True
    at_attach: bool = True


def _on_domain(
    step: Callable[[Domain], list[Problem] | None],
) -> Callable[[Run], list[Problem]]:
    """A stage from a step of the domain alone; a step that returns nothing finds no problem."""

    def stage(run: Run) -> list[Problem]:
        return step(run.domain) or []

    stage.__name__ = step.__name__
    stage.__doc__ = step.__doc__
    return stage


def _parse(run: Run) -> list[Problem]:
    return parse_checks.parse_errors(run.domain) or run.domain.problems


def _address_misfits(run: Run) -> list[Problem]:
    """Addresses of a type libvirt refuses for the device: judged now, as written; those the
    parser refuses are reported here, the others at device validation."""
    run.misfits = address_misfits(run.domain)
    return run.misfits.at_parse


def _grow_pci(run: Run) -> list[Problem]:
    return run.growth(run.domain)


def _device_validation(run: Run) -> list[Problem]:
    """libvirt's device validation, after every address is assigned: missing targets, drive
    addresses, address misfits and IDE controllers, met in walk order; then smartcards."""
    domain = run.domain
    targets = parse_checks.missing_targets(domain)
    found = drive.disk_validation_errors(domain) + run.misfits.at_validation
    found += video_misfits(domain)
    if not run.attach:
        found += other.check_machine_controllers(domain)  # not re-checked at attach
    return parse_checks.validation_order(in_walk_order(found), targets) or (
        check_smartcard_count(domain)
    )


STAGES: tuple[Stage, ...] = (
    # parsing the definition
    Stage("parse", _parse),
    Stage("controller types", _on_domain(parse_checks.default_controller_types)),
    Stage("address misfits", _address_misfits),
    Stage("controller indexes", _on_domain(defaults.read_controller_indexes)),
    Stage("SCSI hostdev controllers", _on_domain(defaults.add_scsi_hostdev_controllers)),
    Stage("missing controller indexes", _on_domain(defaults.fill_controller_indexes)),
    Stage(
        "duplicate controller indexes",
        _on_domain(defaults.check_duplicate_indexes),
        at_attach=False,
    ),
    Stage("default devices", _on_domain(defaults.add_default_devices)),
    Stage("device defaults", _on_domain(defaults.fill_device_defaults)),
    Stage("drive addresses", _on_domain(drive.assign_drive_addresses)),
    Stage("drive controllers", _on_domain(drive.add_drive_controllers)),
    Stage("virtio-serial controllers", _on_domain(vserial.add_virtio_serial_controllers)),
    Stage("smartcards", _on_domain(other.assign_smartcards)),
    Stage("SCSI controllers of hostdevs", _on_domain(drive.add_hostdev_scsi_controllers)),
    Stage("implicit video", _on_domain(defaults.add_implicit_video)),
    Stage("defaults of added devices", _on_domain(defaults.fill_device_defaults)),
    # qemuDomainAssignAddresses
    Stage("zPCI", _on_domain(other.check_zpci)),
    Stage("other architectures", _on_domain(arch_checks.check_other_arch)),
    Stage("virtio-serial addresses", _on_domain(vserial.assign_virtio_serial)),
    Stage("spapr-vio addresses", _on_domain(spapr.assign_spapr_vio)),
    Stage("ccw addresses", _on_domain(ccw.assign_ccw)),
    Stage("virtio-mmio addresses", _on_domain(mmio.assign_virtio_mmio)),
    Stage("PCI addresses", _grow_pci),
    Stage("USB addresses", _on_domain(usb.assign_usb_addresses)),
    Stage("console of the first serial", _on_domain(other.console_follows_serial)),
    Stage("dimm slots", _on_domain(other.assign_dimm_slots)),
    # validating the completed definition
    Stage("device validation", _device_validation),
    Stage("drive address duplicates", _on_domain(drive.check_drive_addresses), at_attach=False),
)


def run_stages(run: Run) -> list[Problem]:
    """Run :data:`STAGES` in order (those an attach runs, for an attach); stop at the first
    stage that finds a problem, as libvirt does."""
    for stage in STAGES:
        if stage.at_attach if run.attach else stage.at_define:
            problems = stage.run(run)
            if problems:
                return problems
    return []


def run_pipeline(
    tree: etree._ElementTree, *, source: str | None = None, growth: Growth = LIBVIRT_GROWTH
) -> AssignResult:
    """Define ``tree``'s domain: every stage, then the new addresses and controllers written.

    Every problem names ``source``: the domain and its devices make them located.
    """
    domain = Domain(tree, source)
    require_supported_guest(domain, source)
    problems = run_stages(Run(domain, growth))
    if not problems:
        writeback.write_back(domain)
    return AssignResult(tree, problems)


def rerun_stages(domain: Domain) -> list[Problem]:
    """The stages again on a stored domain with a device attached or detached (``--config``)."""
    return run_stages(Run(domain, attach=True))


def assign_deep(tree: etree._ElementTree, *, source: str | None = None) -> AssignResult:
    """libvirt's assignment when it succeeds; the deep strategy when libvirt's growth gives up."""
    from virtaddr.passes import pci_deep

    trial = run_pipeline(copy.deepcopy(tree), source=source)
    if trial.ok:
        return run_pipeline(tree, source=source)
    if not any(m in p.message for p in trial.problems for m in pci_deep.CAPACITY_MESSAGES):
        return AssignResult(tree, trial.problems)
    return run_pipeline(tree, source=source, growth=DEEP_GROWTH)


def require_supported_guest(domain: Domain, source: str | None) -> None:
    """Raise :class:`UnusableInput` for a guest whose machine the passes do not know."""
    if domain.machine.family == "other":
        raise UnusableInput(
            f"unsupported guest: arch '{domain.machine.arch}', machine "
            f"'{domain.machine.name or '(default)'}' (virtaddr handles x86 pc and q35, ARM/RISC-V "
            "virt, ARM vexpress, ppc64 pseries and s390x s390-ccw-virtio guests)",
            source=source,
        )
