"""The whole define-time pipeline, in libvirt's order of stages."""

from __future__ import annotations

from lxml import etree

from virtaddr.api import AssignResult
from virtaddr.errors import AddressError, UnusableInput
from virtaddr.libvirt.domain import Domain
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
from virtaddr.passes.validate import (
    address_misfits,
    check_smartcard_count,
    in_walk_order,
    video_misfits,
)


def run_pipeline(
    tree: etree._ElementTree, *, source: str | None = None, grow: str = "libvirt"
) -> AssignResult:
    """``grow='deep'``: PCI growth by :mod:`virtaddr.passes.pci_deep` instead of libvirt's."""
    domain = Domain(tree, source)
    require_supported_guest(domain, source)
    errors = _stages(domain, grow=grow)
    for e in errors:
        if e.source is None:
            e.source = source
    if not errors:
        writeback.write_back(domain)
    return AssignResult(tree, errors)


def require_supported_guest(domain: Domain, source: str | None) -> None:
    """Raise :class:`UnusableInput` for a guest whose machine the passes do not know."""
    if domain.machine.family == "other":
        raise UnusableInput(
            f"unsupported guest: arch '{domain.machine.arch}', machine "
            f"'{domain.machine.name or '(default)'}' (virtaddr handles x86 pc and q35, ARM/RISC-V "
            "virt, ARM vexpress, ppc64 pseries and s390x s390-ccw-virtio guests)",
            source=source,
        )


def rerun_stages(domain: Domain) -> list[AddressError]:
    """Stages 2-6 again on a stored domain with a device attached or detached (``--config``).

    The devices already stored keep their addresses (they are explicit now); the whole-domain
    validation of define (IDE on q35, duplicate drive addresses, a USB controller next to
    ``model='none'``) is not run, as libvirt skips it.
    """
    return _stages(domain, validate=False)


def _stages(domain: Domain, *, validate: bool = True, grow: str = "libvirt") -> list[AddressError]:
    """Run libvirt's stages; stop after the first stage that finds a problem, as libvirt does."""
    errors = parse_checks.parse_errors(domain) or domain.problems
    if errors:
        return errors
    parse_checks.default_controller_types(domain)
    misfits = address_misfits(domain)  # judged as written, raised at their stage
    if misfits.at_parse:
        return misfits.at_parse

    def validate_devices(domain: Domain) -> list[AddressError]:
        targets = parse_checks.missing_targets(domain)
        # disks (drive addresses), address misfits and IDE controllers, met in walk order
        found = drive.disk_validation_errors(domain) + misfits.at_validation
        found += video_misfits(domain)
        if validate:
            found += other.check_machine_controllers(domain)
        return parse_checks.validation_order(in_walk_order(found), targets) or (
            check_smartcard_count(domain)
        )

    errors = defaults.read_controller_indexes(domain)
    if errors:
        return errors
    defaults.add_scsi_hostdev_controllers(domain)
    defaults.fill_controller_indexes(domain)
    for step in (
        defaults.check_duplicate_indexes if validate else _no_check,
        defaults.add_default_devices,
    ):
        errors = step(domain)
        if errors:
            return errors
    defaults.fill_device_defaults(domain)
    errors = drive.assign_drive_addresses(domain)
    if errors:
        return errors
    drive.add_drive_controllers(domain)
    vserial.add_virtio_serial_controllers(domain)
    errors = other.assign_smartcards(domain)
    if errors:
        return errors
    drive.add_hostdev_scsi_controllers(domain)
    defaults.add_implicit_video(domain)
    defaults.fill_device_defaults(domain)
    for step in (
        other.check_zpci,
        arch_checks.check_other_arch,  # this and the next three: no-ops on x86
        vserial.assign_virtio_serial,
        spapr.assign_spapr_vio,
        ccw.assign_ccw,
        mmio.assign_virtio_mmio,
        pci.assign_pci_addresses if grow == "libvirt" else _deep_pci_addresses,
        usb.assign_usb_addresses,
        other.console_follows_serial,
        other.assign_dimm_slots,
        validate_devices,  # libvirt's device validation, after every address is assigned
        drive.check_drive_addresses if validate else _no_check,  # duplicates, after the walk
    ):
        errors = step(domain)
        if errors:
            return errors
    return []


def _no_check(domain: Domain) -> list[AddressError]:
    return []


def _deep_pci_addresses(domain: Domain) -> list[AddressError]:
    from virtaddr.passes import pci_deep

    return pci_deep.assign_pci_addresses_deep(domain)
