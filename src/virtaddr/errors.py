"""The exception hierarchy of virtaddr.

Every error the package raises derives from :class:`VirtaddrError`. Allocator errors say what
happened to which address; domain errors also carry where in the input the problem is (the
element's source line and path) and which device it concerns. Each class also inherits from the
matching built-in exception so that callers may catch the familiar one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = [
    "AddressError",
    "AllocatorError",
    "Collision",
    "DomainError",
    "Exhausted",
    "InvalidAddress",
    "NotReserved",
    "OutOfPool",
    "PoolOverlap",
    "UnusableInput",
    "VirtaddrError",
]


class VirtaddrError(Exception):
    """Root of every error raised by virtaddr."""


# ---------------------------------------------------------------------------- allocator


class AllocatorError(VirtaddrError):
    """An allocator operation could not be carried out."""


class InvalidAddress(AllocatorError, ValueError):
    """An address or range does not fit the space's dimensions or bounds."""


class Collision(AllocatorError, KeyError):
    """The address is already reserved; ``owner`` is who holds it."""

    def __init__(self, address: Sequence[int], owner: Hashable, text: str | None = None) -> None:
        self.address = tuple(address)
        self.owner = owner
        super().__init__(text or f"address {self.address} is already reserved by {owner!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class OutOfPool(AllocatorError, LookupError):
    """No pool of the space holds the address."""

    def __str__(self) -> str:
        return str(self.args[0])


class Exhausted(AllocatorError, LookupError):
    """No free address matches the request."""

    def __str__(self) -> str:
        return str(self.args[0])


class NotReserved(AllocatorError, KeyError):
    """Release of an address that is not reserved."""

    def __str__(self) -> str:
        return str(self.args[0])


class PoolOverlap(AllocatorError, ValueError):
    """A new pool overlaps a pool already in the space."""


# ---------------------------------------------------------------------------- domains


class DomainError(VirtaddrError):
    """A problem in a domain definition, located in its source.

    ``line`` is the source line of the element concerned (or ``None``), ``path`` its XPath-like
    location, ``device`` a short human description of the device ("disk vda", "interface #2").
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        path: str | None = None,
        device: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path
        self.device = device
        self.source = source

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source + (f":{self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        if self.device:
            where.append(self.device)
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class AddressError(DomainError, ValueError):
    """The domain has an address problem libvirt would reject (exit status 1)."""

    exit_code = 1


class UnusableInput(DomainError, OSError):
    """The input cannot be used at all: unreadable, not XML, not a domain (exit status 2)."""

    exit_code = 2
