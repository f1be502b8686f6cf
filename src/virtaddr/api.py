"""The public library API: assign addresses to a domain definition."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from lxml import etree

from virtaddr.passes.result import AssignResult

if TYPE_CHECKING:
    from virtaddr.hotplug.plan import DeviceInput
    from virtaddr.passes.problems import Problem
    from virtaddr.profile import HypervisorProfile
    from virtaddr.xmldoc.xmlio import Document

__all__ = [
    "AssignResult",
    "Assigned",
    "Problem",
    "assign_element",
    "assign_file",
    "assign_tree",
    "assign_xml",
    "check",
    "plan",
]


def __getattr__(name: str) -> Any:
    # ``Problem`` (re-exported) loads on first use: ``virtaddr assign`` never needs it, and
    # its module costs start-up time (P1 in benchmarks/README.md).
    if name == "Problem":
        from virtaddr.passes.problems import Problem

        return Problem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Assigned is a plain class rather than a dataclass: ``@dataclass`` (and its module) would add
# ~1.5 ms to every ``virtaddr`` process.


def assign_tree(tree: etree._ElementTree, *, source: str | None = None) -> AssignResult:
    """Fill in every missing address of the ``<domain>`` in ``tree`` as libvirt 9.0 would.

    ``source`` names the input in messages. Raises :class:`~virtaddr.errors.UnusableInput` when
    the root element is not a domain.
    """
    from virtaddr.passes.pipeline import run_pipeline

    return run_pipeline(tree, source=source)


# ---------------------------------------------------------------------------- front doors
# ``assign_*`` below, then ``check`` (every problem, as ``virtaddr check``) and ``plan`` (a
# hotplug, as ``virtaddr plan``): both take a domain as text, bytes, a path or an lxml element.

XmlT = TypeVar("XmlT", str, bytes, etree._Element)


class Assigned(Generic[XmlT]):
    """A completed domain and the problems found on the way.

    ``xml`` is the completed domain in the form it was given (text, bytes or an element), or
    ``None`` when a problem is an error: libvirt would reject the domain, and there is nothing
    to write. ``problems`` are :class:`~virtaddr.passes.problems.Problem` values (severity, message,
    line, device, source); warnings (e.g. a device model the ``profile`` lacks) leave ``xml``
    set.
    """

    __slots__ = ("problems", "xml")
    xml: XmlT | None
    problems: tuple[Problem, ...]

    def __init__(self, xml: XmlT | None, problems: tuple[Problem, ...] = ()) -> None:
        object.__setattr__(self, "xml", xml)
        object.__setattr__(self, "problems", problems)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Assigned)
        return (self.xml, self.problems) == (other.xml, other.problems)

    def __hash__(self) -> int:
        return hash((self.xml, self.problems))

    def __repr__(self) -> str:
        return f"Assigned(xml={self.xml!r}, problems={self.problems!r})"

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

    The result is the text of ``xml`` with only what libvirt would add or fill in spliced in:
    quotes, attribute order, comments, blank lines, encoding and declaration stay as written
    (new elements take the quotes the document uses most). ``source`` names the input in
    problems. ``profile`` (see
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
    <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    """
    from virtaddr.xmldoc import xmlio

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

    The completed document comes back as bytes in the file's encoding, ready to write: the
    file's text with only the new text spliced in (see :func:`assign_xml`).
    Raises :class:`~virtaddr.errors.UnusableInput` when the file cannot be read or used.
    """
    from virtaddr.xmldoc import xmlio

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


DomainLike = str | bytes | os.PathLike[str] | etree._Element | etree._ElementTree
"""A domain as the library takes it: XML text or bytes, a path (``pathlib.Path``; a ``str`` is
always text), or an lxml element or tree (never modified)."""

DeviceLike = str | bytes | os.PathLike[str] | etree._Element
"""A device for :func:`plan`: XML text or bytes, a path, or an lxml element."""


def check(
    domain: DomainLike, *, source: str | None = None, schema: bool = False
) -> tuple[Problem, ...]:
    """Every address problem of ``domain``, as ``virtaddr check`` reports them; errors first.

    An error (``problem.is_error``) is what libvirt 9.0 rejects at define time; a warning is
    advice beyond libvirt. ``source`` names the input in problems (a path names itself).
    ``schema=True`` also validates the document with libvirt's RelaxNG schema when installed.
    ``domain`` is not changed. Raises :class:`~virtaddr.errors.UnusableInput` when it is not a
    well-formed ``<domain>`` of a supported machine.

    >>> nic = ("<interface type='user'><address type='pci' domain='0' bus='0' slot='3' "
    ...        "function='0'/></interface>")
    >>> problems = check(
    ...     "<domain type='qemu'><name>d</name><memory>65536</memory>"
    ...     "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
    ...     f"<devices>{nic}{nic}</devices></domain>", source="d.xml")
    >>> print(problems[0].format())  # doctest: +ELLIPSIS
    d.xml:1: error: interface user #2: Attempted double use of PCI Address 0000:00:03.0 (...)
    """
    from virtaddr.check import check_tree

    tree, name = _domain_tree(domain, source)
    return tuple(check_tree(tree, source=name, schema=schema).problems)


@overload
def plan(
    domain: str, devices: Sequence[DeviceLike], *, detach: bool = ..., source: str | None = ...
) -> Assigned[str]: ...
@overload
def plan(
    domain: bytes | os.PathLike[str],
    devices: Sequence[DeviceLike],
    *,
    detach: bool = ...,
    source: str | None = ...,
) -> Assigned[bytes]: ...
@overload
def plan(
    domain: etree._Element | etree._ElementTree,
    devices: Sequence[DeviceLike],
    *,
    detach: bool = ...,
    source: str | None = ...,
) -> Assigned[etree._Element]: ...
def plan(
    domain: DomainLike,
    devices: Sequence[DeviceLike],
    *,
    detach: bool = False,
    source: str | None = None,
) -> Assigned[str] | Assigned[bytes] | Assigned[etree._Element]:
    """``domain`` after attaching ``devices`` in order, as ``virsh attach-device --config``.

    libvirt places devices differently at attach time than at define: existing devices never
    move, and a new one may get a new pcie-root-port or bridge. ``detach=True`` removes the
    devices instead and frees their addresses. Each device is XML text, bytes, a path or an lxml
    element (``<disk>``, ``<interface>``, ...). ``domain`` is first completed as define would.
    The result has the form ``domain`` was given in (a path gives bytes, the file's text with
    the changes spliced in, as text gives text; an element a completed copy); ``xml`` is
    ``None`` when libvirt would refuse, with the reason in ``problems`` (e.g. no free
    hotpluggable port on q35). Raises :class:`~virtaddr.errors.UnusableInput` when the
    domain or a device cannot be used.

    >>> disk = ("<disk type='file'><source file='/e.img'/>"
    ...         "<target dev='vdb' bus='virtio'/></disk>")
    >>> after = plan(
    ...     "<domain type='qemu'><name>d</name><memory>65536</memory>"
    ...     "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>", [disk])
    >>> after.ok, after.xml.count("<disk")
    (True, 1)
    """
    from virtaddr.hotplug import plan as planning
    from virtaddr.passes.problems import Problem
    from virtaddr.xmldoc import splice

    doc = _domain_document(domain, source)
    tree = doc.tree if doc is not None else _domain_tree(domain, source)[0]
    name = doc.source if doc is not None else source
    inputs = [_device_input(device, n) for n, device in enumerate(devices, 1)]
    run = planning.detach_devices if detach else planning.attach_devices
    result = run(tree, inputs, source=name)
    problems = tuple(Problem.from_error(error) for error in result.errors)
    if problems:
        return Assigned(None, problems)
    if doc is None:
        return Assigned(tree.getroot())
    data = splice.write_document(doc)
    if isinstance(domain, str):
        return Assigned(data[len(doc.bom) :].decode(doc.codec or "utf-8"))
    return Assigned(data)


def _domain_document(domain: DomainLike, source: str | None) -> Document | None:
    """The parsed document of a domain given as text, bytes or a path; None for an element."""
    from virtaddr.xmldoc import xmlio

    if isinstance(domain, str | bytes):
        return xmlio.parse_document(domain, source or "<string>")
    if isinstance(domain, os.PathLike):
        return xmlio.read_document(os.fspath(domain))
    return None


def _domain_tree(domain: DomainLike, source: str | None) -> tuple[etree._ElementTree, str | None]:
    """A tree of ``domain`` that may be modified (a copy of an element), and its name."""
    doc = _domain_document(domain, source)
    if doc is not None:
        return doc.tree, doc.source
    assert isinstance(domain, etree._Element | etree._ElementTree)
    root = domain.getroot() if isinstance(domain, etree._ElementTree) else domain
    return etree.ElementTree(copy.deepcopy(root)), source


def _device_input(device: DeviceLike, number: int) -> DeviceInput:
    from virtaddr.hotplug import plan as planning

    name = f"<device {number}>"
    if isinstance(device, etree._Element):
        return planning.parse_device(etree.tostring(device), name)
    if isinstance(device, str):
        return planning.parse_device(device.encode("utf-8"), name)
    if isinstance(device, bytes):
        return planning.parse_device(device, name)
    return planning.read_device(os.fspath(device))


def _assign_document(
    doc: Document, profile: HypervisorProfile | None
) -> tuple[bytes | None, tuple[Problem, ...]]:
    """The completed text of ``doc``: its original text with the changes spliced in."""
    from virtaddr.xmldoc import splice

    edits = splice.TextEdits(doc)
    if profile is None:
        with edits:  # the write-back writes text: no new element is built
            problems = _assign_tree(doc.tree, doc.source, None)
    else:  # the profile changes the tree before the pass and reads it after
        problems = _assign_tree(doc.tree, doc.source, profile)
    if any(problem.is_error for problem in problems):
        return None, problems
    return splice.write_document(doc, edits), problems


def _assign_tree(
    tree: etree._ElementTree, source: str | None, profile: HypervisorProfile | None
) -> tuple[Problem, ...]:
    from virtaddr.passes.problems import Problem

    if profile is not None:
        profile.prepare(tree)
    result = assign_tree(tree, source=source)
    problems = [Problem.from_error(error) for error in result.errors]
    if profile is not None and not problems:
        problems += profile.review(tree, source)
    return tuple(problems)
