"""Reading numeric attributes the way libvirt's parser reads them."""

from __future__ import annotations

import re

from virtaddr.errors import AddressError
from virtaddr.kinds.disk_names import disk_index

_DECIMAL = re.compile(r"[0-9]+\Z")
_AUTO = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


class BadNumber(AddressError):
    """An attribute that should hold a non-negative integer does not."""


def parse_uint(text: str, *, auto_base: bool) -> int | None:
    """Parse ``text`` as libvirt does: C-style base (0x hex, leading 0 octal) or decimal only.

    Returns ``None`` when the text is not a valid non-negative number.
    """
    text = text.strip()
    if auto_base:
        if not _AUTO.match(text):
            return None
        if text[:2] in ("0x", "0X"):
            return int(text, 16)
        if len(text) > 1 and text[0] == "0":
            return int(text, 8)
        return int(text)
    if not _DECIMAL.match(text):
        return None
    return int(text)


def bad_value_message(attr: str, element: str, value: str) -> str:
    return (
        f"Invalid value for attribute '{attr}' in element '{element}': '{value}'. "
        "Expected non-negative integer value"
    )


def disk_name_index(name: str) -> int | None:
    """The index libvirt derives from a disk target name (``sdb`` and ``sdb5`` -> 1), or None."""
    return disk_index(name.rstrip("0123456789"))
