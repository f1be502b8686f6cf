"""Disk target names (``sda``, ``vdb``, ``hdc``) and their indexes, as libvirt reads them.

libvirt's ``virDiskNameParse``: strip the first matching prefix of ``fd hd vd sd xvd ubd``; the
rest is lowercase letters in bijective base 26 (``a`` = 0 .. ``z`` = 25, ``aa`` = 26, ``az`` = 51,
``ba`` = 52, ``zz`` = 701), optionally followed by a partition number. A partition is not a disk
target, so for us a name with digits is invalid. The index is the one-field address of the
:data:`KIND`, which makes "give this disk the next free name" an ordinary ``reserve_first``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import TYPE_CHECKING

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.errors import InvalidAddress

if TYPE_CHECKING:
    from virtaddr.alloc.space import AddressSpace

__all__ = [
    "KIND",
    "MAX_INDEX",
    "PREFIXES",
    "disk_index",
    "disk_name",
    "next_name",
    "parse_disk_name",
    "reserve_name",
]

#: Checked in this order; the first that matches is stripped (as libvirt does).
PREFIXES = ("fd", "hd", "vd", "sd", "xvd", "ubd")

#: libvirt keeps the index in an ``int`` and refuses names that would overflow it.
MAX_INDEX = 2**31 - 1

KIND = AddressKind("disk-name", (Field("index", 0, MAX_INDEX),))

# A whole valid name. No prefix starts another, so the alternation strips the one libvirt does.
_VALID = re.compile(r"(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)")


def parse_disk_name(name: str) -> tuple[str, int]:
    """``'sdaa'`` -> ``('sd', 26)``. Raises InvalidAddress saying what is wrong.

    >>> parse_disk_name("sda"), parse_disk_name("hdc"), parse_disk_name("vdzz")
    (('sd', 0), ('hd', 2), ('vd', 701))
    """
    prefix = next((p for p in PREFIXES if name.startswith(p)), None)
    if prefix is None:
        raise InvalidAddress(f"disk name {name!r} does not start with one of {', '.join(PREFIXES)}")
    rest = name[len(prefix) :]
    letters = len(rest) - len(rest.lstrip("abcdefghijklmnopqrstuvwxyz"))
    if letters == 0:
        raise InvalidAddress(f"disk name {name!r} has no lowercase letters after {prefix!r}")
    tail = rest[letters:]
    if tail.isdigit() and tail.isascii():
        raise InvalidAddress(
            f"disk name {name!r} names partition {tail} of {prefix + rest[:letters]!r}, not a disk"
        )
    if tail:
        raise InvalidAddress(f"disk name {name!r}: unexpected {tail!r} after the letters")
    index = _letters_index(rest[:letters])
    if index is None:
        raise InvalidAddress(f"disk name {name!r} is too long (index past {MAX_INDEX})")
    return prefix, index


def disk_index(name: str) -> int | None:
    """The index of a disk name, or ``None`` when it is not a valid disk target.

    >>> disk_index("sdz"), disk_index("sdaa"), disk_index("sda1"), disk_index("nvme0n1")
    (25, 26, None, None)
    """
    match = _VALID.fullmatch(name)  # what parse_disk_name accepts, without building messages
    return None if match is None else _letters_index(match.group(1))


def _letters_index(letters: str) -> int | None:
    """Bijective base 26 (``a`` = 0, ``aa`` = 26); ``None`` past :data:`MAX_INDEX`."""
    index = -1
    for ch in letters:
        index = (index + 1) * 26 + (ord(ch) - 97)  # 97: ord("a")
        if index > MAX_INDEX:
            return None
    return index


def disk_name(prefix: str, index: int) -> str:
    """The name of index ``index`` under ``prefix`` (the inverse of :func:`parse_disk_name`).

    >>> disk_name("sd", 0), disk_name("sd", 26), disk_name("vd", 52), disk_name("hd", 701)
    ('sda', 'sdaa', 'vdba', 'hdzz')
    """
    if prefix not in PREFIXES:
        raise InvalidAddress(f"disk name prefix {prefix!r} is not one of {', '.join(PREFIXES)}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise InvalidAddress(f"disk index {index!r} is not within 0..{MAX_INDEX}")
    letters = []
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters.append(chr(ord("a") + r))
    return prefix + "".join(reversed(letters))


def reserve_name(space: AddressSpace, name: str, owner: Hashable) -> int:
    """Reserve the index of ``name`` (the proposal's ``allocatorReserveSCSIAddress``).

    ``space`` is a space of :data:`KIND`. Raises InvalidAddress, Collision or OutOfPool.
    """
    index = parse_disk_name(name)[1]
    space.reserve((index,), owner)
    return index


def next_name(space: AddressSpace, prefix: str, owner: Hashable) -> str:
    """Reserve the first free index and return its name under ``prefix``; Exhausted if none."""
    disk_name(prefix, 0)  # checks the prefix before anything is reserved
    (index,) = space.reserve_any(owner)
    return disk_name(prefix, index)
