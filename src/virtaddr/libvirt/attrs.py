"""libvirt's messages about numeric attributes, and the index a disk target name gives."""

from __future__ import annotations

from virtaddr.errors import AddressError
from virtaddr.kinds.disk_names import disk_index

#: libvirt 9.0's words for an ``<address>`` without a ``type``.
NO_ADDRESS_TYPE = "No type specified for device address"


class BadNumber(AddressError):
    """An attribute that should hold a non-negative integer does not."""


def bad_value_message(attr: str, element: str, value: str) -> str:
    return (
        f"Invalid value for attribute '{attr}' in element '{element}': '{value}'. "
        "Expected non-negative integer value"
    )


def disk_name_index(name: str) -> int | None:
    """The index libvirt derives from a disk target name (``sdb`` and ``sdb5`` -> 1), or None."""
    return disk_index(name.rstrip("0123456789"))
