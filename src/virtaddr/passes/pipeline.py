"""The define-time pipeline: libvirt's stages as a declared list, read top to bottom.

Like libvirt's ``qemuDomainAssignAddresses`` (with the parse and validation steps of define
around it), :data:`STAGES` runs in order and stops at the first stage that finds a problem, as
libvirt stops at its first error. Each stage says whether ``plan`` (an attach with ``--config``)
runs it too: the devices already stored keep their addresses, and libvirt skips the whole-domain
checks of define. How PCI buses grow is passed in (:data:`LIBVIRT_GROWTH` or
:data:`DEEP_GROWTH`); what differs between libvirt versions the stages read from the run's
rules (:class:`Run`, :mod:`.versions`), never from version checks of their own.
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
    panic_errors,
    version_domain_refusals,
    version_refusals,
    video_misfits,
    xhci_port_errors,
)
from virtaddr.passes.versions import LibvirtRules, rules_for

__all__ = [
    "CAPACITY_MESSAGES",
    "DEEP_GROWTH",
    "LIBVIRT_GROWTH",
    "STAGES",
    "Growth",
    "Run",
    "Stage",
    "assign_deep",
    "growth_gave_up",
    "require_supported_guest",
    "rerun_stages",
    "run_pipeline",
]

Growth = Callable[[Domain, LibvirtRules], list[Problem]]
"""The PCI stage: places every PCI device, adding the buses it needs, as the rules say."""

LIBVIRT_GROWTH: Growth = pci.assign_pci_addresses
"""libvirt's own: pci-bridges where its first pass can plug them, root ports on the root complex."""


def _deep_growth(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    # imported on use: the module (with its dataclasses) costs every assign ~2 ms otherwise
    from virtaddr.passes import pci_deep

    return pci_deep.assign_pci_addresses_deep(domain, rules)


DEEP_GROWTH: Growth = _deep_growth
"""``--grow deep``: a deeper topology where libvirt's growth gives up (:mod:`.pci_deep`)."""


class Run:
    """What one run of the stages shares: the domain and the choices made for this run.

    ``rules`` are the libvirt version's (:mod:`.versions`; the newest when not given).
    """

    __slots__ = ("attach", "domain", "growth", "misfits", "rules")

    def __init__(
        self,
        domain: Domain,
        growth: Growth = LIBVIRT_GROWTH,
        attach: bool = False,
        rules: LibvirtRules | None = None,
    ):
        self.domain = domain
        self.growth = growth
        self.attach = attach
        self.rules = rules or rules_for()
        self.misfits = AddressMisfits()  # judged as written (stage 'address misfits')
        # rule 1: where the controllers libvirt adds go in the controller list
        domain.added_controllers_sorted = self.rules.added_controllers_in_index_order


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
    found = parse_checks.parse_errors(run.domain, run.rules)
    if not found and not run.rules.usb_net_and_mtp:
        found = parse_checks.mtp_refusal(run.domain)
    return found or run.domain.problems


def _missing_indexes(run: Run) -> list[Problem]:
    defaults.fill_controller_indexes(run.domain, run.rules.usb2_companion_resorts_controllers)
    return []


def _itco_watchdog(run: Run) -> list[Problem]:
    if run.rules.q35_itco_watchdog:
        defaults.add_itco_watchdog(run.domain)
    return []


def _address_misfits(run: Run) -> list[Problem]:
    """Addresses of a type libvirt refuses for the device: judged now, as written; those the
    parser refuses are reported here, the others at device validation."""
    run.misfits = address_misfits(run.domain, run.rules)
    return run.misfits.at_parse


def _grow_pci(run: Run) -> list[Problem]:
    return run.growth(run.domain, run.rules)


def _device_validation(run: Run) -> list[Problem]:
    """libvirt's validation, after every address is assigned: the machine type, the watchdogs and
    panic devices, then per device
    missing targets, drive addresses, address misfits, the version's refusals and IDE
    controllers, met in walk order; then smartcards."""
    domain = run.domain
    if not run.attach:
        refused = other.check_machine_type(domain, run.rules)
        refused = refused or version_domain_refusals(domain, run.rules)
        refused = refused or panic_errors(domain, run.rules)
        if refused:
            return refused
    targets = parse_checks.missing_targets(domain)
    found = (
        drive.disk_validation_errors(domain, run.rules.disk_index_wraps) + run.misfits.at_validation
    )
    found += version_refusals(domain, run.rules)
    found += arch_checks.video_model_refusals(domain, run.rules)
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
    Stage("missing controller indexes", _missing_indexes),
    Stage(
        "duplicate controller indexes",
        _on_domain(defaults.check_duplicate_indexes),
        at_attach=False,
    ),
    Stage("default devices", lambda run: defaults.add_default_devices(run.domain, run.rules)),
    Stage("implicit iTCO watchdog", _itco_watchdog),
    Stage("device defaults", _on_domain(defaults.fill_device_defaults)),
    Stage(
        "drive addresses",
        lambda run: drive.assign_drive_addresses(run.domain, run.rules.disk_index_wraps),
    ),
    Stage("USB controller ports", _on_domain(xhci_port_errors)),
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
    Stage("USB addresses", lambda run: usb.assign_usb_addresses(run.domain, run.rules)),
    Stage("console of the first serial", _on_domain(other.console_follows_serial)),
    Stage(
        "dimm slots",
        lambda run: other.assign_dimm_slots(run.domain, run.rules.virtio_mem_on_ccw, run.rules),
    ),
    # validating the completed definition
    Stage("device validation", _device_validation),
    Stage("duplicate disk targets", _on_domain(drive.duplicate_targets), at_attach=False),
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
    tree: etree._ElementTree,
    *,
    source: str | None = None,
    growth: Growth = LIBVIRT_GROWTH,
    rules: LibvirtRules | None = None,
) -> AssignResult:
    """Define ``tree``'s domain: every stage, then the new addresses and controllers written.

    ``rules``: the libvirt version's (:func:`.versions.rules_for`; the newest when None).
    Every problem names ``source``: the domain and its devices make them located.
    """
    rules = rules or rules_for()
    domain = Domain(tree, source, address_without_type=rules.address_without_type)
    require_supported_guest(domain, source)
    problems = run_stages(Run(domain, growth, rules=rules))
    if not problems:
        writeback.write_back(domain)
    return AssignResult(tree, problems)


def rerun_stages(domain: Domain, rules: LibvirtRules | None = None) -> list[Problem]:
    """The stages again on a stored domain with a device attached or detached (``--config``)."""
    return run_stages(Run(domain, attach=True, rules=rules))


#: libvirt's messages when its growth gives up: the failures ``--grow deep`` handles.
CAPACITY_MESSAGES = (
    "No more available PCI slots",
    "a PCI slot is needed to connect a PCI controller",
    "Cannot automatically add a new PCI bus",
)


def growth_gave_up(message: str) -> bool:
    """Whether ``message`` is libvirt's when its growth gives up (too many devices for its
    topology; the same words also come from a controller that no topology can place)."""
    return any(capacity in message for capacity in CAPACITY_MESSAGES)


def assign_deep(
    tree: etree._ElementTree, *, source: str | None = None, rules: LibvirtRules | None = None
) -> AssignResult:
    """libvirt's assignment when it succeeds; the deep strategy when libvirt's growth gives up."""
    trial = run_pipeline(copy.deepcopy(tree), source=source, rules=rules)
    if trial.ok:
        return run_pipeline(tree, source=source, rules=rules)
    if not any(growth_gave_up(p.message) for p in trial.problems):
        return AssignResult(tree, trial.problems)
    return run_pipeline(tree, source=source, growth=DEEP_GROWTH, rules=rules)


def require_supported_guest(domain: Domain, source: str | None) -> None:
    """Raise :class:`UnusableInput` for a guest whose machine the passes do not know."""
    if domain.machine.family == "other":
        raise UnusableInput(
            f"unsupported guest: arch '{domain.machine.arch}', machine "
            f"'{domain.machine.name or '(default)'}' (virtaddr handles x86, ARM, RISC-V, "
            "PowerPC and s390x s390-ccw-virtio guests)",
            source=source,
        )
