"""The outcome of the define-time pipeline: the tree and the problems found."""

from __future__ import annotations

from lxml import etree

from virtaddr.errors import AddressError

__all__ = ["AssignResult"]

# A plain class rather than a dataclass: ``@dataclass`` (and its module) would add ~1.5 ms to
# every ``virtaddr`` process.


class AssignResult:
    """The outcome of one assign run: the (modified in place) tree and the errors found.

    When ``errors`` is not empty libvirt would reject the domain; the tree may then be partly
    modified and must not be written out.
    """

    __slots__ = ("errors", "tree")

    def __init__(self, tree: etree._ElementTree, errors: list[AddressError] | None = None) -> None:
        self.tree = tree
        self.errors: list[AddressError] = [] if errors is None else errors

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AssignResult)
        return (self.tree, self.errors) == (other.tree, other.errors)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"AssignResult(tree={self.tree!r}, errors={self.errors!r})"

    @property
    def ok(self) -> bool:
        return not self.errors
