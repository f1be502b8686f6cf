"""Schema checks: each ``<address>`` against ``schemas/address.xsd`` (xmlschema, XSD 1.1), and
optionally the whole document against libvirt's own RelaxNG schema (lxml).

xmlschema is imported only here, when a check runs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import ERROR, WARNING, Problem
from virtaddr.xmldoc.names import local

__all__ = [
    "LIBVIRT_RNG",
    "SCHEMA_DIR",
    "address_problems",
    "relaxng_problems",
    "schema_type",
]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
"""Where ``address.xsd`` and the JSON report schemas live: the package's copy of the
repository's ``schemas/`` (package data, so an installed virtaddr has them too)."""
LIBVIRT_RNG = Path("/usr/share/libvirt/schemas/domain.rng")
"""libvirt's RelaxNG schema for domains, as Debian's libvirt packages install it."""


def schema_type(address_type: str) -> str:
    """The content model (complex type) an address type selects in ``address.xsd``: its name in
    camel case and ``Address`` (``virtio-serial``: ``virtioSerialAddress``), ``bareAddress`` for
    a type without attributes."""
    if not ADDRESS_TYPES[address_type].attrs:
        return "bareAddress"
    head, *rest = address_type.split("-")
    return head + "".join(word.capitalize() for word in rest) + "Address"


@cache
def address_schema() -> Any:
    """The compiled ``address.xsd`` (an ``xmlschema.XMLSchema11``)."""
    import xmlschema

    return xmlschema.XMLSchema11(str(SCHEMA_DIR / "address.xsd"))


def address_problems(domain: Domain, *, skip_lines: set[int]) -> list[Problem]:
    """Malformed ``<address>`` elements of the devices, with their lines.

    An attribute the address type does not have is a warning (libvirt ignores it); anything
    else the schema refuses is an error. Devices on ``skip_lines`` already have a parse error.
    """
    schema = address_schema()
    problems: list[Problem] = []
    for name in domain.lists:
        for dev in domain.lists[name]:
            el = dev.child("address")
            if el is None or dev.line in skip_lines:
                continue
            problems.extend(_one_address(schema, dev.describe(), el, domain.source))
    return problems


def _one_address(schema: Any, device: str, el: etree._Element, source: str | None) -> list[Problem]:
    atype = el.get("type")
    line = el.sourceline if isinstance(el.sourceline, int) else None
    problems: list[Problem] = []
    copy = etree.Element("address")
    known = _attributes(atype)
    for key, value in el.attrib.items():
        name = str(key)
        if known is not None and name not in known:
            problems.append(
                Problem(
                    WARNING,
                    f"attribute '{name}' is not part of an address of type '{atype}': "
                    "libvirt ignores it",
                    line=line,
                    device=device,
                    source=source,
                    code="address-attribute",
                )
            )
            continue
        copy.set(name, str(value))
    for child in el:
        if isinstance(child.tag, str):
            etree.SubElement(
                copy, local(child.tag), {str(k): str(v) for k, v in child.attrib.items()}
            )
    for err in schema.iter_errors(copy):
        problems.append(
            Problem(
                ERROR,
                f"malformed address: {err.reason}",
                line=line,
                device=device,
                source=source,
                code="address-schema",
            )
        )
    return problems


def _attributes(atype: str | None) -> set[str] | None:
    """The attributes of an address type (``None``: a type the schema refuses anyway); the
    schema's are the same, a test holds them equal."""
    spec = ADDRESS_TYPES.get(atype or "")
    return None if spec is None else {"type", *spec.names}


@cache
def _relaxng() -> etree.RelaxNG:
    # libvirt's own schema files, read with their includes from the local file system only
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.RelaxNG(etree.parse(str(LIBVIRT_RNG), parser))


def relaxng_problems(tree: etree._ElementTree, source: str | None) -> tuple[list[Problem], str]:
    """Validate the whole document with libvirt's RelaxNG; return (problems, what was done)."""
    if not LIBVIRT_RNG.is_file():
        return [], f"libvirt's RelaxNG schema {LIBVIRT_RNG} is not installed: schema check skipped"
    try:
        rng = _relaxng()
    except (etree.RelaxNGParseError, etree.XMLSyntaxError, OSError) as exc:
        return [], f"libvirt's RelaxNG schema {LIBVIRT_RNG} cannot be used ({exc}): skipped"
    if rng.validate(tree):
        return [], f"valid against {LIBVIRT_RNG}"
    problems = [
        Problem(
            ERROR,
            f"not valid against libvirt's schema: {entry.message}",
            line=entry.line or None,
            source=source,
            code="relaxng",
        )
        for entry in rng.error_log
    ]
    return problems, f"not valid against {LIBVIRT_RNG}"
