"""What reserving an explicit address can refuse, for the stages and ``check`` alike.

A stage reserves the explicit addresses of its kind on the allocator and returns each refusal;
``assign`` turns one into libvirt's error on the device, ``check``'s explicit pass into a problem
with its code that also names the device already holding the address.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from virtaddr.libvirt.device import Device

__all__ = ["Refusal"]


class Refusal(NamedTuple):
    """One explicit address the allocator refused."""

    device: Device
    code: str  #: ``check``'s problem code (``dimm-collision``, ``dimm-range``)
    message: str  #: libvirt's words
    holder: Hashable = None  #: who holds the address (a :class:`Device`, or text), if taken
