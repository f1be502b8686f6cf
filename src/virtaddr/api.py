"""The public library API: assign addresses to a domain definition."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from lxml import etree

from virtaddr.errors import AddressError
from virtaddr.problems import Problem

if TYPE_CHECKING:
    from virtaddr.profile import HypervisorProfile
    from virtaddr.xmlio import Document

__all__ = [
    "AssignResult",
    "Assigned",
    "Problem",
    "assign_element",
    "assign_file",
    "assign_tree",
    "assign_xml",
]


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


# ---------------------------------------------------------------------------- front doors
# Not wired yet (hook): ``check(domain) -> tuple[Problem, ...]`` over ``virtaddr.check`` and
# ``plan(domain, devices) -> Assigned`` over ``virtaddr.plan.attach_devices``; both modules were
# still changing when these front doors were written. They take the same inputs as ``assign_*``.

XmlT = TypeVar("XmlT", str, bytes, etree._Element)


@dataclass(frozen=True, slots=True)
class Assigned(Generic[XmlT]):
    """A completed domain and the problems found on the way.

    ``xml`` is the completed domain in the form it was given (text, bytes or an element), or
    ``None`` when a problem is an error: libvirt would reject the domain, and there is nothing
    to write. ``problems`` are :class:`~virtaddr.problems.Problem` values (severity, message,
    line, device, source); warnings (e.g. a device model the ``profile`` lacks) leave ``xml``
    set.
    """

    xml: XmlT | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no problem is an error (``xml`` is then set)."""
        return not any(problem.is_error for problem in self.problems)


@overload
def assign_xml(
    xml: str, *, source: str = ..., profile: HypervisorProfile | None = ...
) -> Assigned[str]: ...
@overload
def assign_xml(
    xml: bytes, *, source: str = ..., profile: HypervisorProfile | None = ...
) -> Assigned[bytes]: ...
def assign_xml(
    xml: str | bytes, *, source: str = "<string>", profile: HypervisorProfile | None = None
) -> Assigned[str] | Assigned[bytes]:
    """Assign the missing addresses of the domain XML ``xml``; the result has the same type.

    Everything but what libvirt would add or fill in is kept as written (comments, order,
    encoding, declaration). ``source`` names the input in problems. ``profile`` (see
    :mod:`virtaddr.profile`) also rewrites a machine alias to its versioned name and warns of
    device models the hypervisor lacks. Raises :class:`~virtaddr.errors.UnusableInput` when
    ``xml`` is not a well-formed ``<domain>``.

    >>> result = assign_xml(
    ...     "<domain type='qemu'><name>d</name><memory>65536</memory>"
    ...     "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
    ...     "<devices><disk type='file'><source file='/d.img'/>"
    ...     "<target dev='vda' bus='virtio'/></disk></devices></domain>")
    >>> result.ok, result.problems
    (True, ())
    >>> print(result.xml[result.xml.index("<address"):][:75])  # the disk's; libvirt's too
    <address type="pci" domain="0x0000" bus="0x00" slot="0x02" function="0x0"/>
    """
    from virtaddr import xmlio

    doc = xmlio.parse_document(xml, source)
    data, problems = _assign_document(doc, profile)
    if data is None:
        return Assigned(None, problems)
    if isinstance(xml, bytes):
        return Assigned(data, problems)
    return Assigned(data[len(doc.bom) :].decode(doc.codec or "utf-8"), problems)


def assign_file(
    path: str | os.PathLike[str], *, profile: HypervisorProfile | None = None
) -> Assigned[bytes]:
    """Assign the missing addresses of the domain XML file at ``path``; the file is not changed.

    The completed document comes back as bytes in the file's encoding, ready to write.
    Raises :class:`~virtaddr.errors.UnusableInput` when the file cannot be read or used.
    """
    from virtaddr import xmlio

    doc = xmlio.read_document(os.fspath(path))
    data, problems = _assign_document(doc, profile)
    return Assigned(data, problems)


def assign_element(
    domain: etree._Element | etree._ElementTree,
    *,
    source: str | None = None,
    profile: HypervisorProfile | None = None,
) -> Assigned[etree._Element]:
    """Assign the missing addresses of a ``<domain>`` lxml element (or tree); ``domain`` is left
    unchanged and ``xml`` is a completed copy of it (its root element).

    Problems carry the source lines of ``domain`` when it was parsed from text.
    """
    root = domain.getroot() if isinstance(domain, etree._ElementTree) else domain
    tree = etree.ElementTree(copy.deepcopy(root))
    problems = _assign_tree(tree, source, profile)
    if any(problem.is_error for problem in problems):
        return Assigned(None, problems)
    return Assigned(tree.getroot(), problems)


def _assign_document(
    doc: Document, profile: HypervisorProfile | None
) -> tuple[bytes | None, tuple[Problem, ...]]:
    from virtaddr import xmlio

    problems = _assign_tree(doc.tree, doc.source, profile)
    if any(problem.is_error for problem in problems):
        return None, problems
    return xmlio.serialize_document(doc), problems


def _assign_tree(
    tree: etree._ElementTree, source: str | None, profile: HypervisorProfile | None
) -> tuple[Problem, ...]:
    if profile is not None:
        profile.prepare(tree)
    result = assign_tree(tree, source=source)
    problems = [Problem.from_error(error) for error in result.errors]
    if profile is not None and not problems:
        problems += profile.review(tree, source)
    return tuple(problems)
