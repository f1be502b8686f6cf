"""The outcome of the define-time pipeline: the tree and the problems found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from virtaddr.errors import AddressError
    from virtaddr.libvirt.problems import Problem

__all__ = ["AssignResult"]

# A plain class rather than a dataclass: ``@dataclass`` (and its module) would add ~1.5 ms to
# every ``virtaddr`` process.


class AssignResult:
    """The outcome of one assign run: the (modified in place) tree and the problems found.

    ``problems`` are :class:`~virtaddr.libvirt.problems.Problem` values, the type the API hands
    out, each naming its source, line and device. When one is an error libvirt would reject the
    domain; the tree may then be partly modified and must not be written out.
    """

    __slots__ = ("problems", "tree")

    def __init__(self, tree: etree._ElementTree, problems: list[Problem] | None = None) -> None:
        self.tree = tree
        self.problems: list[Problem] = [] if problems is None else problems

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AssignResult)
        return (self.tree, self.problems) == (other.tree, other.problems)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"AssignResult(tree={self.tree!r}, problems={self.problems!r})"

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[AddressError]:
        """The error problems as :class:`~virtaddr.errors.AddressError` exceptions, for callers
        that report exceptions (the command-line layer): ``str()`` of each is
        ``FILE:LINE: device: message``."""
        return [p.as_error() for p in self.problems if p.is_error]
