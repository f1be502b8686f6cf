"""Small edits of a parsed document that keep the user's layout.

New elements are indented like their siblings, with the indentation read from the document's own
whitespace (two spaces when it has none to read); nothing that exists is re-indented. A document
written on one line gets its new elements on that line too. Elements are matched by namespace
URI and local name, never by prefix: a new element takes its parent's namespace, so an insertion
into a document with a default namespace stays in that namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from lxml import etree

from virtaddr.xmldoc.names import ns_prefix

__all__ = [
    "append_child",
    "append_layout",
    "find_child",
    "insert_element",
    "insert_laid_out_after",
    "insert_next_to",
    "new_element",
    "new_elements",
    "parent_indent_unit",
    "remove_element",
    "set_address",
    "sibling_layout",
    "spec_texts",
]

DEFAULT_INDENT_UNIT = "  "


def new_element(
    tag: str,
    attrs: Sequence[tuple[str, str]] = (),
    children: Iterable[etree._Element] = (),
) -> etree._Element:
    """A new element ``tag`` with ``attrs`` in the given order and ``children`` appended.

    >>> el = new_element("controller", [("type", "pci"), ("index", "1")],
    ...                  [new_element("model", [("name", "pcie-root-port")])])
    >>> etree.tostring(el).decode()
    '<controller type="pci" index="1"><model name="pcie-root-port"/></controller>'
    """
    elem = etree.Element(tag)
    for name, value in attrs:
        elem.set(name, value)
    for child in children:
        elem.append(child)
    return elem


# An element to make: its local name, its attributes in order, its children.
ElementSpec = tuple[str, Sequence[tuple[str, str]], Sequence["ElementSpec"]]


def new_elements(
    specs: Sequence[ElementSpec],
    namespace: str | None = None,
    layout: tuple[str, str] | None = None,
) -> list[etree._Element]:
    """The elements ``specs`` describe, in ``namespace``, with no source line.

    ``layout``: (indentation of the elements' own lines, indentation unit): their descendants
    are laid out one per line as :func:`insert_next_to` would lay them out there; without it
    they get no whitespace. They are made by one parse of their text: for hundreds of small
    elements that costs a quarter of making them one call per element and attribute.

    >>> for e in new_elements([("address", [("type", "pci"), ("bus", "0x01")], []),
    ...                        ("controller", [("model", 'a"&<b')], [("model", [], [])])]):
    ...     print(etree.tostring(e).decode())
    <address type="pci" bus="0x01"/>
    <controller model="a&quot;&amp;&lt;b"><model/></controller>
    """
    if not specs:
        return []
    opening = "<w>" if namespace is None else f'<w xmlns="{_escape_attr(namespace)}">'
    parser = etree.XMLParser(resolve_entities=False, no_network=True)  # (not shared: threads)
    text = "".join(spec_texts(specs, layout))
    wrapper = etree.fromstring(opening + text + "</w>", parser)
    for elem in wrapper.iter():
        elem.sourceline = 0  # made, not read: no line of the user's document (splice tells so)
    return list(wrapper)


def spec_texts(
    specs: Sequence[ElementSpec],
    layout: tuple[str, str] | None = None,
    quote: str = '"',
    prefix: str = "",
) -> list[str]:
    """The text of each element ``specs`` describe, laid out as :func:`new_elements` lays them
    out, attribute values in ``quote``, every name after ``prefix`` (``"lv:"``, or ``""``).

    >>> spec_texts([("controller", [("type", "pci")], [("model", [("name", "it's")], [])])],
    ...            ("    ", "  "), quote="'")
    ["<controller type='pci'>\\n      <model name='it&apos;s'/>\\n    </controller>"]
    """
    indent, unit = layout if layout is not None else (None, "")
    texts: list[str] = []
    values: list[str] = []
    for spec in specs:
        parts: list[str] = []
        _spec_text(spec, parts, values, indent, unit, quote, prefix)
        texts.append("".join(parts))
    special = _ATTR_SPECIAL if quote == '"' else _ATTR_SPECIAL_SINGLE
    if special.search("".join(values)):  # rare: escape each value (one check is cheap)
        texts.clear()
        for spec in specs:
            parts = []
            _spec_text(spec, parts, None, indent, unit, quote, prefix)
            texts.append("".join(parts))
    return texts


_ATTR_SPECIAL = re.compile(r'[&<"\n\r\t]')
_ATTR_SPECIAL_SINGLE = re.compile(r"[&<'\n\r\t]")


def _spec_text(
    spec: ElementSpec,
    parts: list[str],
    values: list[str] | None,
    indent: str | None,
    unit: str,
    quote: str,
    prefix: str,
) -> None:
    tag, attrs, children = spec
    tag = prefix + tag
    parts.append("<" + tag)
    for name, value in attrs:
        if values is None:
            value = _escape_attr(value, quote)
        else:
            values.append(value)
        parts.append(f" {name}={quote}{value}{quote}")
    if not children:
        parts.append("/>")
        return
    parts.append(">")
    inner = None if indent is None else indent + unit
    for child in children:
        if inner is not None:
            parts.append("\n" + inner)
        _spec_text(child, parts, values, inner, unit, quote, prefix)
    if indent is not None:
        parts.append("\n" + indent)
    parts.append(f"</{tag}>")


def _escape_attr(value: str, quote: str = '"') -> str:
    value = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
    return value.replace('"', "&quot;") if quote == '"' else value.replace("'", "&apos;")


def find_child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first element child of ``parent`` named ``name`` in the parent's namespace, or None."""
    tag = _qualified(parent, name)
    for child in parent:
        if child.tag == tag:
            return child
    return None


def set_address(device: etree._Element, attrs: Sequence[tuple[str, str]]) -> etree._Element:
    """Give ``device`` an ``<address>`` with exactly ``attrs``, in that order; return it.

    An existing ``<address>`` child keeps its place and its children (``<zpci>``); only its
    attributes are replaced. Otherwise a new one is appended as the last child, indented like its
    siblings (or one level deeper than the device when it has no children).
    """
    address = find_child(device, "address")
    if address is None:
        address = etree.Element(_qualified(device, "address"))
        _set_attributes(address, attrs)
        _append_indented(device, address)
    else:
        address.attrib.clear()
        _set_attributes(address, attrs)
    return address


def append_child(parent: etree._Element, new: etree._Element) -> etree._Element:
    """Append ``new`` (in the parent's namespace, with no children) as the last child of
    ``parent``, indented like its siblings (or one level deeper than ``parent``); return it."""
    _append_indented(parent, new)
    return new


def append_layout(parent: etree._Element) -> tuple[str, str, str]:
    """Where and with what whitespace :func:`append_child` puts a new last child of ``parent``,
    for writing it as text: (place, text before it, text after it).

    The place is ``after-last`` (right after the last child node, before its tail),
    ``content-start`` (before the parent's blank text), ``content-end`` (after its text) or
    ``content`` (the new child replaces the parent's blank text, or lack of it).
    """
    if len(parent):
        return "after-last", _inner_indent(parent) or "", ""
    own = _own_indent(parent)
    text = parent.text
    if own is None or not _is_blank(text):
        return "content-end", "", ""
    inner = "\n" + own + _indent_unit(parent)
    if text is not None and "\n" in text:
        return "content-start", inner, ""
    return "content", inner, "\n" + own


def insert_element(
    parent: etree._Element,
    new: etree._Element,
    *,
    after: Sequence[str] = (),
    before: Sequence[str] = (),
) -> etree._Element:
    """Insert ``new`` into ``parent`` at the place libvirt would put it; return ``new``.

    The place is after the last child named by the first name of ``after`` that has a match;
    else before the first child named by the first name of ``before`` that has a match; else at
    the end. Names are local names in the parent's namespace (or ``{uri}name``). ``new`` (and
    its descendants without a namespace) moves into the parent's namespace, is indented like its
    siblings and its descendants one more level per depth.
    """
    _adopt_namespace(parent, new)
    anchor = _last_named(parent, after)
    if anchor is not None:
        _insert_after(anchor, new)
    else:
        anchor = _first_named(parent, before)
        if anchor is not None:
            _insert_before(anchor, new)
        else:
            _append_indented(parent, new)
    indent = _own_indent(new)
    if indent is not None:
        _indent_descendants(new, indent, _indent_unit(parent))
    return new


def insert_next_to(
    anchor: etree._Element, new: etree._Element, *, after: bool, unit: str | None = None
) -> etree._Element:
    """Insert ``new`` right after (or before) the sibling ``anchor``, indented like it.

    ``unit``: the parent's indentation unit when the caller already has it (from
    :func:`parent_indent_unit`, for many insertions into one parent); else it is looked up.
    """
    parent = anchor.getparent()
    assert parent is not None
    _adopt_namespace(parent, new)
    if after:
        _insert_after(anchor, new)
    else:
        _insert_before(anchor, new)
    indent = _own_indent(new)
    if indent is not None:
        _indent_descendants(new, indent, unit if unit is not None else _indent_unit(parent))
    return new


def sibling_layout(parent: etree._Element, unit: str | None = None) -> tuple[str, str] | None:
    """(indentation, unit) that :func:`insert_next_to` gives an element inserted after a child
    of ``parent``, or None when it adds no layout (a document on one line).

    It stays the same while elements are inserted after children (``parent.text`` does not
    change), so a caller inserting many can read it once and lay out their content beforehand.
    """
    inner = _inner_indent(parent)
    if inner is None or "\n" not in inner:
        return None
    own = inner.rsplit("\n", 1)[1]
    if not _is_blank(own):
        return None
    return own, unit if unit is not None else _indent_unit(parent)


def insert_laid_out_after(anchor: etree._Element, new: etree._Element, indent: str) -> None:
    """Insert ``new`` right after its sibling ``anchor``, as :func:`insert_next_to` would: ``new``
    is in the parent's namespace and laid out by :func:`new_elements` with the parent's
    :func:`sibling_layout`, whose indentation is ``indent``."""
    new.tail = anchor.tail
    anchor.tail = "\n" + indent
    anchor.addnext(new)


def parent_indent_unit(parent: etree._Element) -> str | None:
    """The indentation unit ``parent``'s own layout gives, or None when it gives none.

    When not None it is what insertions into ``parent`` use (:func:`insert_next_to`), and
    inserting children next to existing ones does not change it, so a caller inserting many
    can read it once; None: let each insertion search the document as usual.
    """
    if not len(parent):
        return None
    return _unit_from(parent)


def remove_element(elem: etree._Element) -> None:
    """Remove ``elem`` with the whitespace before it; the rest of the layout stays as it was."""
    parent = elem.getparent()
    assert parent is not None
    previous = elem.getprevious()
    if previous is not None:
        previous.tail = elem.tail
    else:
        parent.text = elem.tail
    parent.remove(elem)


# ---------------------------------------------------------------------------- placement


def _append_indented(parent: etree._Element, new: etree._Element) -> None:
    if len(parent):
        last = parent[-1]
        new.tail = last.tail
        last.tail = _inner_indent(parent)
        parent.append(new)
        return
    own = _own_indent(parent)
    if own is None or not _is_blank(parent.text):  # one line, or text content: add no layout
        parent.append(new)
        return
    closing = parent.text if _is_blank(parent.text) and "\n" in (parent.text or "") else None
    parent.text = "\n" + own + _indent_unit(parent)
    new.tail = closing if closing is not None else "\n" + own
    parent.append(new)


def _insert_after(anchor: etree._Element, new: etree._Element) -> None:
    parent = anchor.getparent()
    assert parent is not None
    new.tail = anchor.tail
    anchor.tail = _inner_indent(parent)
    anchor.addnext(new)


def _insert_before(anchor: etree._Element, new: etree._Element) -> None:
    parent = anchor.getparent()
    assert parent is not None
    anchor.addprevious(new)
    new.tail = _inner_indent(parent)


def _last_named(parent: etree._Element, names: Sequence[str]) -> etree._Element | None:
    for name in names:
        tag = _qualified(parent, name)
        found = [child for child in parent if child.tag == tag]
        if found:
            return found[-1]
    return None


def _first_named(parent: etree._Element, names: Sequence[str]) -> etree._Element | None:
    for name in names:
        found = find_child(parent, name)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------- indentation


def _inner_indent(parent: etree._Element) -> str | None:
    """The whitespace that goes before a child of ``parent`` ("\\n" + spaces; None: one line).

    Read from the whitespace before the parent's first child; when that is missing or holds text,
    derived from the parent's own indentation.
    """
    text = parent.text
    if len(parent) and _is_blank(text):
        if text is None or "\n" not in text:
            return text
        return "\n" + text.rsplit("\n", 1)[1]
    own = _own_indent(parent)
    return None if own is None else "\n" + own + _indent_unit(parent)


def _own_indent(elem: etree._Element) -> str | None:
    """The indentation of the line ``elem`` starts on, or None when it does not start a line."""
    parent = elem.getparent()
    if parent is None:
        return ""
    previous = elem.getprevious()
    before = previous.tail if previous is not None else parent.text
    if before is None or "\n" not in before:
        return None
    last_line = before.rsplit("\n", 1)[1]
    return last_line if _is_blank(last_line) else None


def _indent_unit(elem: etree._Element) -> str:
    """One level of indentation as the document writes it, found nearest ``elem`` first."""
    for candidate in _unit_candidates(elem):
        unit = _unit_from(candidate)
        if unit is not None:
            return unit
    return DEFAULT_INDENT_UNIT


def _unit_from(candidate: etree._Element) -> str | None:
    """The unit between ``candidate``'s indentation and its first child's, if it shows one."""
    own = _own_indent(candidate)
    text = candidate.text
    if own is None or not text or "\n" not in text or not _is_blank(text):
        return None
    inner = text.rsplit("\n", 1)[1]
    if inner.startswith(own) and len(inner) > len(own):
        return inner[len(own) :]
    return None


def _unit_candidates(elem: etree._Element) -> Iterator[etree._Element]:
    for ancestor in (elem, *elem.iterancestors()):
        if len(ancestor):
            yield ancestor
    for count, candidate in enumerate(elem.getroottree().getroot().iter(tag=etree.Element)):
        if count > 1000:
            return
        if len(candidate):
            yield candidate


def _indent_descendants(elem: etree._Element, indent: str, unit: str) -> None:
    """Lay out the (new) children of ``elem`` one per line, one ``unit`` deeper per level.

    Whitespace already there is kept; only missing whitespace is added.
    """
    children = list(elem)
    if not children:
        return
    inner = indent + unit
    if elem.text is None:
        elem.text = "\n" + inner
    for index, child in enumerate(children):
        if child.tail is None:
            child.tail = "\n" + (inner if index < len(children) - 1 else indent)
        _indent_descendants(child, inner, unit)


def _is_blank(text: str | None) -> bool:
    return text is None or not text.strip(" \t\r\n")


# ---------------------------------------------------------------------------- names


def _qualified(parent: etree._Element, name: str) -> str:
    if name.startswith("{"):
        return name
    return _prefix(parent) + name


def _prefix(parent: etree._Element) -> str:
    """``{uri}`` of ``parent``'s namespace, or "" (lxml spells a namespace-less tag without
    braces; reading the tag is cheaper than building a ``QName``)."""
    tag: str = parent.tag
    return ns_prefix(tag)


def _adopt_namespace(parent: etree._Element, new: etree._Element) -> None:
    prefix = _prefix(parent)
    if not prefix:
        return
    for elem in new.iter(tag=etree.Element):
        if not elem.tag.startswith("{"):
            elem.tag = prefix + elem.tag


def _set_attributes(elem: etree._Element, attrs: Sequence[tuple[str, str]]) -> None:
    for name, value in attrs:
        elem.set(name, value)
