"""The public library API: assign addresses to a domain definition."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from virtaddr.errors import AddressError

__all__ = ["AssignResult", "assign_tree"]


@dataclass(slots=True)
class AssignResult:
    """The outcome of one assign run: the (modified in place) tree and the errors found.

    When ``errors`` is not empty libvirt would reject the domain; the tree may then be partly
    modified and must not be written out.
    """

    tree: etree._ElementTree
    errors: list[AddressError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def assign_tree(tree: etree._ElementTree, *, source: str | None = None) -> AssignResult:
    """Fill in every missing address of the ``<domain>`` in ``tree`` as libvirt 9.0 would.

    ``source`` names the input in messages. Raises :class:`~virtaddr.errors.UnusableInput` when
    the root element is not a domain.
    """
    from virtaddr.passes.pipeline import run_pipeline

    return run_pipeline(tree, source=source)
