"""libvirt's define-time checks that an address fits its device, for ``assign``.

The rules are :mod:`virtaddr.check.fit`'s (each message libvirt's own). libvirt raises them at
two stages: its parser refuses a non-USB address on a USB input or redirdev, before anything is
placed; device validation, after every address is assigned, refuses the other misfits and a
second smartcard (``qemuValidateDomainSmartcardDef``: QEMU takes one, at ccid 0:0). The misfits
are judged on the addresses as written, before any pass changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from virtaddr.check.fit import address_type_errors
from virtaddr.errors import AddressError
from virtaddr.libvirt.domain import Domain

__all__ = ["AddressMisfits", "address_misfits", "check_smartcard_count"]

_PARSE_MESSAGES = frozenset({"Invalid address for a USB device"})


@dataclass(frozen=True, slots=True)
class AddressMisfits:
    """The address-type errors of a domain, by the stage where libvirt raises them."""

    at_parse: list[AddressError] = field(default_factory=list)
    at_validation: list[AddressError] = field(default_factory=list)


def address_misfits(domain: Domain) -> AddressMisfits:
    """Every device whose written ``<address>`` type libvirt refuses for that device."""
    found = AddressMisfits()
    for error in address_type_errors(domain):
        stage = found.at_parse if error.message in _PARSE_MESSAGES else found.at_validation
        stage.append(error)
    return found


def check_smartcard_count(domain: Domain) -> list[AddressError]:
    """libvirt refuses more than one smartcard (even when every one is at ccid 0:0)."""
    cards = domain.lists["smartcard"]
    if len(cards) < 2:
        return []
    return [cards[1].error("this QEMU binary lacks multiple smartcard support")]
