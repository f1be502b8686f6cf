"""A live libvirt connection (the optional ``libvirt`` extra): its profile and verification.

The only module that imports ``libvirt`` (libvirt-python), and only when one of its functions is
called; without it they raise :class:`LibvirtMissing`, whose message says how to install it.
The first such call also silences libvirt's default error printer (for the whole process): the
errors still raise, and virtaddr says them once, in its own messages.

* :func:`read_profile` reads what the hypervisor behind a connection supports (``--connect``).
* :func:`verify` defines a completed domain under a temporary name, reads back what libvirt
  stored, undefines it, and returns every address libvirt did not keep (``--verify``).
"""

from __future__ import annotations

import uuid
from typing import Any

from lxml import etree

from virtaddr.errors import VirtaddrError
from virtaddr.profile import (
    HypervisorProfile,
    machine_aliases_from_capabilities,
    models_from_domain_capabilities,
)

__all__ = [
    "INSTALL_HINT",
    "LibvirtMissing",
    "LiveError",
    "open_connection",
    "read_profile",
    "require",
    "verify",
]

INSTALL_HINT = (
    "libvirt-python is not installed: pip install 'virtaddr[libvirt]' "
    "(it builds against libvirt: on Debian/Ubuntu first apt-get install libvirt-dev pkg-config)"
)

_FAMILIES = (("pc", "pc"), ("q35", "q35"))  # (family, alias whose domain capabilities we read)
_X86 = ("x86_64", "i686")
_TEMP_PREFIX = "virtaddr-verify-"


class LibvirtMissing(VirtaddrError, ImportError):
    """libvirt-python is not installed (the ``libvirt`` extra)."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


class LiveError(VirtaddrError, OSError):
    """The connection failed or libvirt refused a request; the message is libvirt's."""


def _libvirt() -> Any:
    try:
        import libvirt  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise LibvirtMissing() from None
    global _quiet
    if not _quiet:
        # libvirt's default error handler prints every error to stderr ("libvirt: XML-RPC
        # error : Failed to connect socket to ...") before the call raises it; virtaddr reports
        # the raised error itself, in its own words, so the printer would only say it twice.
        libvirt.registerErrorHandler(_ignore_error, None)
        _quiet = True
    return libvirt


_quiet = False  # libvirt's default error printer replaced (once per process)


def _ignore_error(context: object, error: object) -> None:
    """libvirt's error callback: nothing (the error is raised to the caller too)."""


def require() -> None:
    """Raise :class:`LibvirtMissing` unless libvirt-python can be imported."""
    _libvirt()


def open_connection(uri: str) -> Any:
    """A read-write ``libvirt.virConnect`` to ``uri``; raises :class:`LiveError` on failure."""
    libvirt = _libvirt()
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise LiveError(f"cannot connect to {uri}: {exc.get_error_message()}") from None


def read_profile(uri: str, connection: Any = None) -> HypervisorProfile:
    """The profile of the hypervisor at ``uri``: machine aliases from its capabilities, device
    models from its domain capabilities for x86 ``pc`` and ``q35`` guests."""
    libvirt = _libvirt()
    conn = connection if connection is not None else open_connection(uri)
    try:
        aliases = machine_aliases_from_capabilities(conn.getCapabilities())
        models = {}
        for arch in _X86:
            for family, alias in _FAMILIES:
                if (arch, alias) not in aliases:
                    continue
                xml = conn.getDomainCapabilities(None, arch, aliases[(arch, alias)], None, 0)
                models[(arch, family)] = models_from_domain_capabilities(xml)
        version = _version(conn.getVersion())
        lib = conn.getLibVersion()
    except libvirt.libvirtError as exc:
        raise LiveError(f"{uri}: {exc.get_error_message()}") from None
    return HypervisorProfile(
        name=f"{uri} (hypervisor {version})",
        aliases=aliases,
        models=models,
        libvirt_version=(lib // 1_000_000, lib // 1000 % 1000, lib % 1000),
    )


def verify(uri: str, xml: bytes, connection: Any = None) -> list[str]:
    """Define the completed domain ``xml`` on ``uri`` under a temporary name and a fresh UUID,
    compare the addresses libvirt stored with ours, and undefine it.

    Returns the differences (empty: libvirt kept every address and added nothing). Raises
    :class:`LiveError` when libvirt refuses the domain or the connection fails.
    """
    from virtaddr.compare import address_differences

    libvirt = _libvirt()
    conn = connection if connection is not None else open_connection(uri)
    ours = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    probe = _renamed(ours)
    try:
        dom = conn.defineXML(etree.tostring(probe, encoding="unicode"))
    except libvirt.libvirtError as exc:
        raise LiveError(f"libvirt refuses the result: {exc.get_error_message()}") from None
    try:
        stored = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        _undefine(libvirt, dom)
    theirs = etree.fromstring(stored.encode("utf-8"))
    return address_differences(ours, theirs)


def _renamed(root: etree._Element) -> etree._Element:
    probe = etree.fromstring(etree.tostring(root))
    name = probe.find("name")
    if name is None:
        name = etree.SubElement(probe, "name")
    name.text = _TEMP_PREFIX + uuid.uuid4().hex[:12]
    for old in probe.findall("uuid"):
        probe.remove(old)
    return probe


def _undefine(libvirt: Any, dom: Any) -> None:
    flags = getattr(libvirt, "VIR_DOMAIN_UNDEFINE_KEEP_NVRAM", 0)
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError:
        dom.undefine()


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"
