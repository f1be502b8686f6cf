"""The whole define-time pipeline, in libvirt's order of stages."""

from __future__ import annotations

from lxml import etree

from virtaddr.api import AssignResult
from virtaddr.errors import AddressError, UnusableInput
from virtaddr.libvirt.domain import Domain
from virtaddr.passes import defaults, drive, other, pci, usb, vserial, writeback


def run_pipeline(tree: etree._ElementTree, *, source: str | None = None) -> AssignResult:
    domain = Domain(tree, source)
    family = domain.machine.family
    if family == "other":
        raise UnusableInput(
            f"unsupported guest: arch '{domain.machine.arch}', machine "
            f"'{domain.machine.name or '(default)'}' (virtaddr handles x86 pc and q35 guests)",
            source=source,
        )
    errors = _stages(domain)
    for e in errors:
        if e.source is None:
            e.source = source
    if not errors:
        writeback.write_back(domain)
    return AssignResult(tree, errors)


def _stages(domain: Domain) -> list[AddressError]:
    """Run libvirt's stages; stop after the first stage that finds a problem, as libvirt does."""
    if domain.problems:
        return domain.problems
    errors = defaults.read_controller_indexes(domain)
    if errors:
        return errors
    defaults.add_scsi_hostdev_controllers(domain)
    defaults.fill_controller_indexes(domain)
    for step in (
        defaults.check_duplicate_indexes,
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
        other.check_machine_controllers,
        other.check_zpci,
        vserial.assign_virtio_serial,
        pci.assign_pci_addresses,
        usb.assign_usb_addresses,
        other.assign_dimm_slots,
        drive.check_drive_addresses,
    ):
        errors = step(domain)
        if errors:
            return errors
    return []
