"""The public library API: assign addresses to a domain definition.

Every function takes ``libvirt=``: the libvirt version whose behaviour to reproduce (``"9.0"``
or ``"11.3"``, :data:`virtaddr.passes.versions.VERSIONS`); the newest when not given. An
unsupported version raises :class:`ValueError`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, overload

if TYPE_CHECKING:
    from lxml import etree

    from virtaddr.checker import (
        check_tree as check_tree,
    )
    from virtaddr.checker.versions import (
        check_versions as check_versions,
    )
    from virtaddr.compare import (
        address_differences as address_differences,
    )
    from virtaddr.errors import (
        AddressError as AddressError,
        DomainError as DomainError,
        UnusableInput as UnusableInput,
        VirtaddrError as VirtaddrError,
    )
    from virtaddr.hotplug.plan import (
        DeviceInput as DeviceInput,
        attach_devices as attach_devices,
        detach_devices as detach_devices,
        read_device as read_device,
    )
    from virtaddr.hotplug.room import (
        add_hotplug_room as add_hotplug_room,
    )
    from virtaddr.libvirt.problems import (
        ERROR as ERROR,
        WARNING as WARNING,
        Problem as Problem,
    )
    from virtaddr.passes.pipeline import (
        assign_deep as assign_deep,
        growth_gave_up as growth_gave_up,
    )
    from virtaddr.passes.result import (
        AssignResult as AssignResult,
    )
    from virtaddr.passes.versions import (
        DEFAULT as DEFAULT,
        VERSIONS as VERSIONS,
        LibvirtRules as LibvirtRules,
        rules_for as rules_for,
        rules_for_host as rules_for_host,
    )
    from virtaddr.profile import (
        HypervisorProfile as HypervisorProfile,
    )
    from virtaddr.topology import (
        Topology as Topology,
        assigned_topology as assigned_topology,
    )
    from virtaddr.xmldoc.splice import (
        SpliceImpossible as SpliceImpossible,
        TextEdits as TextEdits,
        write_document as write_document,
    )
    from virtaddr.xmldoc.xmlio import (
        STDIN_NAME as STDIN_NAME,
        Document as Document,
        parse_document as parse_document,
        read_document as read_document,
        serialize_document as serialize_document,
        write_atomically as write_atomically,
    )

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


#: The result types, and what the command line, the pytest plugin and other tools that work on
#: whole documents use besides the front doors: each name loads its module on first use, so
#: that importing this module costs nothing (``virtaddr --help`` builds its parser from it).
_TOOLS: dict[str, tuple[str, ...]] = {
    "virtaddr.libvirt.problems": ("ERROR", "WARNING", "Problem"),
    "virtaddr.passes.result": ("AssignResult",),
    "virtaddr.errors": ("AddressError", "DomainError", "UnusableInput", "VirtaddrError"),
    "virtaddr.xmldoc.xmlio": (
        "STDIN_NAME",
        "Document",
        "parse_document",
        "read_document",
        "serialize_document",
        "write_atomically",
    ),
    "virtaddr.xmldoc.splice": ("SpliceImpossible", "TextEdits", "write_document"),
    "virtaddr.passes.pipeline": ("assign_deep", "growth_gave_up"),
    "virtaddr.passes.versions": (
        "DEFAULT",
        "VERSIONS",
        "LibvirtRules",
        "rules_for",
        "rules_for_host",
    ),
    "virtaddr.checker": ("check_tree",),
    "virtaddr.checker.versions": ("check_versions",),
    "virtaddr.hotplug.plan": ("DeviceInput", "attach_devices", "detach_devices", "read_device"),
    "virtaddr.hotplug.room": ("add_hotplug_room",),
    "virtaddr.topology": ("Topology", "assigned_topology"),
    "virtaddr.compare": ("address_differences",),
    "virtaddr.profile": ("HypervisorProfile",),
}
_TOOL_MODULES = {name: module for module, names in _TOOLS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _TOOL_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once
    return value


# Assigned is a plain class rather than a dataclass: ``@dataclass`` (and its module) would add
# ~1.5 ms to every ``virtaddr`` process.


def assign_tree(
    tree: etree._ElementTree, *, source: str | None = None, libvirt: str | None = None
) -> AssignResult:
    """Fill in every missing address of the ``<domain>`` in ``tree`` as libvirt ``libvirt``
    (default: the newest supported) would.

    ``source`` names the input in messages. Raises :class:`~virtaddr.errors.UnusableInput` when
    the root element is not a domain.
    """
    from virtaddr.passes.pipeline import run_pipeline
    from virtaddr.passes.versions import rules_for

    return run_pipeline(tree, source=source, rules=rules_for(libvirt))


# ---------------------------------------------------------------------------- front doors
# ``assign_*`` below, then ``check`` (every problem, as ``virtaddr check``) and ``plan`` (a
# hotplug, as ``virtaddr plan``): both take a domain as text, bytes, a path or an lxml element.

XmlT = TypeVar("XmlT", str, bytes, "etree._Element")


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
    xml: str,
    *,
    source: str = ...,
    profile: HypervisorProfile | None = ...,
    libvirt: str | None = ...,
) -> Assigned[str]: ...
@overload
def assign_xml(
    xml: bytes,
    *,
    source: str = ...,
    profile: HypervisorProfile | None = ...,
    libvirt: str | None = ...,
) -> Assigned[bytes]: ...
def assign_xml(
    xml: str | bytes,
    *,
    source: str = "<string>",
    profile: HypervisorProfile | None = None,
    libvirt: str | None = None,
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
    data, problems = _assign_document(doc, profile, libvirt)
    if data is None:
        return Assigned(None, problems)
    if isinstance(xml, bytes):
        return Assigned(data, problems)
    return Assigned(data[len(doc.bom) :].decode(doc.codec or "utf-8"), problems)


def assign_file(
    path: str | os.PathLike[str],
    *,
    profile: HypervisorProfile | None = None,
    libvirt: str | None = None,
) -> Assigned[bytes]:
    """Assign the missing addresses of the domain XML file at ``path``; the file is not changed.

    The completed document comes back as bytes in the file's encoding, ready to write: the
    file's text with only the new text spliced in (see :func:`assign_xml`).
    Raises :class:`~virtaddr.errors.UnusableInput` when the file cannot be read or used.
    """
    from virtaddr.xmldoc import xmlio

    doc = xmlio.read_document(os.fspath(path))
    data, problems = _assign_document(doc, profile, libvirt)
    return Assigned(data, problems)


def assign_element(
    domain: etree._Element | etree._ElementTree,
    *,
    source: str | None = None,
    profile: HypervisorProfile | None = None,
    libvirt: str | None = None,
) -> Assigned[etree._Element]:
    """Assign the missing addresses of a ``<domain>`` lxml element (or tree); ``domain`` is left
    unchanged and ``xml`` is a completed copy of it (its root element).

    Problems carry the source lines of ``domain`` when it was parsed from text.
    """
    from lxml import etree

    root = domain.getroot() if isinstance(domain, etree._ElementTree) else domain
    tree = etree.ElementTree(copy.deepcopy(root))
    problems = _assign_tree(tree, source, profile, libvirt)
    if any(problem.is_error for problem in problems):
        return Assigned(None, problems)
    return Assigned(tree.getroot(), problems)


DomainLike: TypeAlias = "str | bytes | os.PathLike[str] | etree._Element | etree._ElementTree"
"""A domain as the library takes it: XML text or bytes, a path (``pathlib.Path``; a ``str`` is
always text), or an lxml element or tree (never modified)."""

DeviceLike: TypeAlias = "str | bytes | os.PathLike[str] | etree._Element"
"""A device for :func:`plan`: XML text or bytes, a path, or an lxml element."""


def check(
    domain: DomainLike,
    *,
    source: str | None = None,
    schema: bool = False,
    libvirt: str | tuple[str, str] | None = None,
) -> tuple[Problem, ...]:
    """Every address problem of ``domain``, as ``virtaddr check`` reports them; errors first.

    An error (``problem.is_error``) is what libvirt ``libvirt`` (default: the newest supported)
    rejects at define time; a warning is
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

    Two versions (``libvirt=("9.0", "11.3")``, before an upgrade from the first to the second):
    the problems under both (see :func:`~virtaddr.checker.versions.check_versions`), and a
    warning per device they address differently and per error of a version that rejects what
    the other accepts (codes ``version-address`` and ``version-refusal``).
    """
    from virtaddr.checker import check_tree
    from virtaddr.passes.versions import rules_for

    if libvirt is None or isinstance(libvirt, str):
        rules = rules_for(libvirt)
        tree, name = _domain_tree(domain, source)
        return tuple(check_tree(tree, source=name, schema=schema, rules=rules).problems)
    from virtaddr.checker.versions import check_versions

    if len(libvirt) != 2:
        raise ValueError(f"one libvirt version or two, not {len(libvirt)}: {libvirt!r}")
    pair = (rules_for(libvirt[0]), rules_for(libvirt[1]))
    tree, name = _domain_tree(domain, source)
    return tuple(check_versions(tree, source=name, schema=schema, rules=pair).problems)


@overload
def plan(
    domain: str,
    devices: Sequence[DeviceLike],
    *,
    detach: bool = ...,
    source: str | None = ...,
    libvirt: str | None = ...,
) -> Assigned[str]: ...
@overload
def plan(
    domain: bytes | os.PathLike[str],
    devices: Sequence[DeviceLike],
    *,
    detach: bool = ...,
    source: str | None = ...,
    libvirt: str | None = ...,
) -> Assigned[bytes]: ...
@overload
def plan(
    domain: etree._Element | etree._ElementTree,
    devices: Sequence[DeviceLike],
    *,
    detach: bool = ...,
    source: str | None = ...,
    libvirt: str | None = ...,
) -> Assigned[etree._Element]: ...
def plan(
    domain: DomainLike,
    devices: Sequence[DeviceLike],
    *,
    detach: bool = False,
    source: str | None = None,
    libvirt: str | None = None,
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
    from virtaddr.passes.versions import rules_for
    from virtaddr.xmldoc import splice

    rules = rules_for(libvirt)
    doc = _domain_document(domain, source)
    tree = doc.tree if doc is not None else _domain_tree(domain, source)[0]
    name = doc.source if doc is not None else source
    inputs = [_device_input(device, n) for n, device in enumerate(devices, 1)]
    run = planning.detach_devices if detach else planning.attach_devices
    result = run(tree, inputs, source=name, rules=rules)
    problems = tuple(result.problems)
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
    from lxml import etree

    doc = _domain_document(domain, source)
    if doc is not None:
        return doc.tree, doc.source
    assert isinstance(domain, etree._Element | etree._ElementTree)
    root = domain.getroot() if isinstance(domain, etree._ElementTree) else domain
    return etree.ElementTree(copy.deepcopy(root)), source


def _device_input(device: DeviceLike, number: int) -> DeviceInput:
    from lxml import etree

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
    doc: Document, profile: HypervisorProfile | None, libvirt: str | None
) -> tuple[bytes | None, tuple[Problem, ...]]:
    """The completed text of ``doc``: its original text with the changes spliced in."""
    from virtaddr.xmldoc import splice

    edits = splice.TextEdits(doc)
    if profile is None:
        with edits:  # the write-back writes text: no new element is built
            problems = _assign_tree(doc.tree, doc.source, None, libvirt)
    else:  # the profile changes the tree before the pass and reads it after
        problems = _assign_tree(doc.tree, doc.source, profile, libvirt)
    if any(problem.is_error for problem in problems):
        return None, problems
    return splice.write_document(doc, edits), problems


def _assign_tree(
    tree: etree._ElementTree,
    source: str | None,
    profile: HypervisorProfile | None,
    libvirt: str | None,
) -> tuple[Problem, ...]:
    from virtaddr.passes.versions import rules_for

    rules_for(libvirt)  # an unsupported version is refused before the domain is touched
    if profile is not None:
        profile.prepare(tree)
    result = assign_tree(tree, source=source, libvirt=libvirt)
    problems = list(result.problems)
    if profile is not None and not problems:
        problems += profile.review(tree, source)
    return tuple(problems)
