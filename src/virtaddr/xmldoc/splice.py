"""The one writer for text: a changed document written as its original text with only the
changes spliced in.

lxml re-serialises a whole document (double quotes, its own spelling of empty elements, moved
``xmlns:`` declarations), which a file under version control should not suffer. Every text
output is instead the original text, byte for byte, except

* the start tag of an element whose attributes changed (a completed ``<address>``, an ``index=``
  or ``model=`` filled into a ``<controller>``): rewritten with its untouched attributes exactly
  as written (a number spelled otherwise but equal, ``0x21`` for ``33``, stays as written), new
  ones after their predecessor in the tree's order, quoted like the tag's own attributes;
* new elements, written where they go with the whitespace :mod:`virtaddr.xmldoc.xmledit` gives
  them (like their siblings), in the quotes the document uses most;
* ``<x .../>`` that gains children, which becomes ``<x ...>``, the children and ``</x>``;
* the children of an element whose list of children changed in another way (a removed address,
  the primary video moved first): its content is written again from the tree, each original
  child from its own text, each whitespace run from the original where it did not change.

What changed comes as :class:`~virtaddr.xmldoc.edits.TextEdits`: noted by the write-back as it
works, its new elements already written as text, or found by comparing the tree with a fresh
parse of the original (:mod:`virtaddr.xmldoc.treediff`), where an unchanged subtree is written
from the text without looking inside it.

Either way the elements are found in the text by :mod:`virtaddr.xmldoc.spans`, only along the
paths to what changed, so the cost is linear in the size of the file and of each element's child
list: a ``<metadata>`` of 40,000 entries is one scan for its end tag.
"""

from __future__ import annotations

import re
from typing import cast

from lxml import etree

from virtaddr.xmldoc.edits import Before, TextEdits
from virtaddr.xmldoc.numbers import parse_uint
from virtaddr.xmldoc.spans import ATTRIBUTE, Span, SpliceImpossible, children, root_span
from virtaddr.xmldoc.treediff import differences
from virtaddr.xmldoc.xmlio import Document, serialize_document

__all__ = ["SpliceImpossible", "TextEdits", "write_document"]


def write_document(doc: Document, edits: TextEdits | None = None) -> bytes:
    """The bytes of ``doc``: its original text with what changed in its tree spliced in.

    ``edits``: what the write-back noted while it ran (a :class:`TextEdits` it claimed); without
    them the tree is compared with a fresh parse of the original. A document without its
    original text, or whose changes cannot be written as edits (content with entities declared
    in its DOCTYPE), is serialised whole by lxml.

    Raises :class:`SpliceImpossible` when the write-back's own edits do not fit the text (a bug).
    """
    if not doc.original:
        return serialize_document(doc)
    if edits is not None and edits.claimed:
        text = _Writer(doc, edits).text()
    else:
        try:
            text = _Writer(doc, differences(doc)).text()
        except SpliceImpossible:
            return serialize_document(doc)
    return doc.bom + text.encode(doc.codec or doc.encoding, "xmlcharrefreplace")


class _Writer:
    """Writes the original text with ``edits`` applied, visiting only the elements on the way
    to an edit (``relevant``); everything else is copied as one slice of the text."""

    def __init__(self, doc: Document, edits: TextEdits) -> None:
        self.doc = doc
        self.source = doc.original
        self.edits = edits
        self.newline = doc.newline
        self.out: list[str] = []
        self.relevant: set[etree._Element] = set()
        self.parents: set[etree._Element] = set()  # elements with a relevant child
        for group in (edits.attributes, edits.before, edits.appended, edits.after):
            for elem in group:
                self._mark(elem)
        # Elements whose only edit is a new last child (a device's new <address>): written
        # by the parent's loop itself, hundreds at a time.
        plain = self.relevant - self.parents - edits.attributes - edits.before.keys()
        self.last_child = {
            e: self.new(text)
            for e, (place, text) in edits.appended.items()
            if place == "after-last" and e in plain
        }

    def _mark(self, elem: etree._Element | None) -> None:
        relevant, parents = self.relevant, self.parents
        while elem is not None and elem not in relevant:
            relevant.add(elem)
            elem = elem.getparent()
            if elem is not None:
                parents.add(elem)

    def text(self) -> str:
        if not self.relevant:
            return self.source
        root = root_span(self.source)
        if not root.empty:
            children(self.source, root)  # its end
        self.out.append(self.source[: root.start])
        self.element(self.doc.root, root)
        self.out.append(self.source[root.end :])
        return "".join(self.out)

    def new(self, text: str) -> str:
        """New text, with the document's line ends."""
        return text if self.newline == "\n" else text.replace("\n", self.newline)

    def element(self, e: etree._Element, span: Span) -> None:
        src, out, edits = self.source, self.out, self.edits
        if e not in self.relevant:
            out.append(src[span.start : span.end])
            return
        tag = self.start_tag(e, span) if e in edits.attributes else None
        before = edits.before.get(e)
        if before is not None:
            self.rebuild(e, span, tag, before)
            return
        appended = edits.appended.get(e)
        if span.empty:
            raw = tag if tag is not None else src[span.start : span.end]
            if appended is None:
                out.append(raw)
            else:
                out += (_open(raw), self.new(appended[1]), f"</{span.name}>")
            return
        out.append(tag if tag is not None else src[span.start : span.start_end])
        pos = span.start_end
        place = appended[0] if appended is not None else ""
        if place == "content-start" or place == "content":
            out.append(self.new(appended[1]))  # type: ignore[index]
            if place == "content":
                pos = span.close_start  # the blank text it replaces
        kids: list[tuple[etree._Element, Span]] | None = None
        if e in self.parents:
            kids = self.paired(e, span, list(e))
            relevant, after, last_child = self.relevant, edits.after, self.last_child
            for node, kid in kids:
                if node in relevant:
                    out.append(src[pos : kid.start])
                    new = last_child.get(node)
                    if new is not None and not kid.empty:
                        end = self.last_child_end(kid)
                        out += (src[kid.start : end], new, src[end : kid.end])
                    else:
                        self.node(node, kid)
                    pos = kid.end
                    piece = after.get(node)
                    while piece is not None:
                        out.append(self.new(piece.text))
                        piece = piece.next
        if place == "after-last":
            end = kids[-1][1].end if kids else self.last_child_end(span)
            out += (src[pos:end], self.new(appended[1]))  # type: ignore[index]
            pos = end
        elif place == "content-end":
            out += (src[pos : span.close_start], self.new(appended[1]))  # type: ignore[index]
            pos = span.close_start
        out.append(src[pos : span.end])

    def node(self, n: etree._Element, span: Span) -> None:
        if span.kind == "element":
            self.element(n, span)
        else:
            self.out.append(self.source[span.start : span.end])

    def rebuild(self, e: etree._Element, span: Span, tag: str | None, before: Before) -> None:
        """Write the content of ``e`` from the tree: original children from their text (with
        their own edits), new ones serialised, whitespace from the text where it is the same."""
        src, out = self.source, self.out
        if e in self.edits.appended:
            raise SpliceImpossible(f"text appended to <{span.name}>, whose children changed")
        kids = [k for _, k in self.paired(e, span, before.nodes)]
        raw = tag if tag is not None else src[span.start : span.start_end]
        if span.empty:
            if e.text is None and not len(e):
                out.append(raw)
                return
            out.append(_open(raw))
            content_end = span.start_end
        else:
            out.append(raw)
            content_end = span.close_start
        first = kids[0].start if kids else content_end
        if e.text == before.text:
            out.append(src[span.start_end : first])
        else:
            out.append(self.new(_escape_text(e.text or "")))
        index = {n: i for i, n in enumerate(before.nodes) if n is not None}
        after = self.edits.after
        for n in e:
            i = index.pop(n, None)
            if i is None:
                out += (self.new(self.serialize(n, e)), self.new(_escape_text(n.tail or "")))
                continue
            if n in after:
                raise SpliceImpossible(f"text inserted in <{span.name}>, whose children changed")
            kid = kids[i]
            self.node(n, kid)
            if n.tail == before.tails[i]:
                following = kids[i + 1].start if i + 1 < len(kids) else content_end
                out.append(src[kid.end : following])
            else:
                out.append(self.new(_escape_text(n.tail or "")))
        out.append(f"</{span.name}>" if span.empty else src[span.close_start : span.end])

    def paired(
        self, e: etree._Element, span: Span, nodes: list[etree._Element | None]
    ) -> list[tuple[etree._Element, Span]]:
        """The spans of the original children ``nodes`` of ``e`` (None: gone), in order."""
        kids = children(self.source, span)
        if len(kids) != len(nodes):
            raise SpliceImpossible(f"the children of <{span.name}> do not match the text")
        for n, kid in zip(nodes, kids, strict=True):
            if n is None:
                continue
            tag = n.tag
            if tag.__class__ is str and kid.kind == "element":  # (the usual case, inline)
                name = kid.name
                if tag[tag.find("}") + 1 :] == name[name.find(":") + 1 :]:
                    continue
            elif _matches(n, kid):
                continue
            raise SpliceImpossible(f"a {kid.kind} at offset {kid.start} does not match")
        return list(zip(nodes, kids, strict=True))  # type: ignore[arg-type]

    def last_child_end(self, span: Span) -> int:
        """Where the last child node of the element ``span`` ends (it has one).

        Usually only whitespace follows the last ``>`` before the end tag, and the markup that
        ``>`` closes starts at the last ``<`` before it: then it is the end of the last child
        node (not of a CDATA section, nor a ``>`` of the text). Otherwise the children are
        listed.
        """
        src = self.source
        close = span.close_start
        end = src.rfind(">", span.start_end, close) + 1
        if end:
            lt = src.rfind("<", span.start_end, end)
            if (
                lt >= 0
                and src.find(">", lt, end - 1) < 0
                and not src.startswith("]]>", end - 3)
                and not src[end:close].strip()
            ):
                return end
        return children(src, span)[-1].end

    def start_tag(self, e: etree._Element, span: Span) -> str | None:
        """The start tag of ``e`` written for its attributes now, or None when they are the
        same (numbers compared by value) as the text has them."""
        src = self.source
        name_end = span.start + 1 + len(span.name)
        written: list[tuple[str | None, str, int, int]] = []  # (key, quote, start, end)
        old: dict[str, str] = {}
        pos = name_end
        while True:
            m = ATTRIBUTE.match(src, pos, span.start_end)
            if m is None:
                break
            key = _attribute_key(e, m.group(2))
            value = m.group(3)
            if key is not None:
                old[key] = _attribute_value(value[1:-1])
            written.append((key, value[0], m.start(), m.end()))
            pos = m.end()
        attrs_end = pos
        new = {str(k): str(v) for k, v in e.attrib.items()}
        if old.keys() == new.keys() and all(_same_value(new[k], old[k]) for k in old):
            return None
        pieces: list[tuple[str | None, str]] = []
        for key, quote, start, end in written:
            if key is not None and key not in new:
                continue
            piece = src[start:end]
            if key is not None and not _same_value(new[key], old[key]):
                head = piece[: piece.rindex(quote, 0, len(piece) - 1)]
                piece = f"{head}{quote}{_escape_attr(new[key], quote)}{quote}"
            pieces.append((key, piece))
        quote = written[0][1] if written else self.edits.quote
        order = list(new)
        for at, key in enumerate(order):
            if key in old:
                continue
            if key.startswith("{"):
                raise SpliceImpossible(f"a namespaced attribute was added to <{span.name}>")
            text = f" {key}={quote}{_escape_attr(new[key], quote)}{quote}"
            placed = {k for k, _ in pieces if k is not None}
            previous = [k for k in order[:at] if k in placed]
            where = 0
            if previous:
                where = 1 + max(i for i, (k, _) in enumerate(pieces) if k == previous[-1])
            pieces.insert(where, (key, text))
        attributes = "".join(t for _, t in pieces)
        return src[span.start : name_end] + attributes + src[attrs_end : span.start_end]

    def serialize(self, node: etree._Element, parent: etree._Element) -> str:
        """A new node as text: attributes in its order, in the document's usual quotes."""
        if isinstance(node.tag, str) and _declares_namespaces(node, parent):
            # It declares namespaces of its own: lxml knows how to write them.
            return etree.tostring(node, encoding="unicode", with_tail=False)
        return _serialize(node, self.edits.quote)


def _declares_namespaces(node: etree._Element, parent: etree._Element) -> bool:
    """Whether ``node`` or a descendant declares a namespace its parent does not have (only an
    element or attribute in a namespace can need one)."""
    for el in node.iter(tag=etree.Element):
        if el.tag[0] == "{" or "{" in "".join(cast("list[str]", el.keys())):
            above = el.getparent() if el is not node else parent
            if above is None or el.nsmap != above.nsmap:
                return True
    return False


def _matches(node: etree._Element, span: Span) -> bool:
    tag = node.tag
    if isinstance(tag, str):
        if span.kind != "element":
            return False
        name = span.name
        return tag[tag.find("}") + 1 :] == name[name.find(":") + 1 :]
    if tag is etree.Comment:
        return span.kind == "comment"
    if tag is etree.ProcessingInstruction:
        return span.kind == "pi"
    return False  # an entity reference: not in the spans


def _open(start_tag: str) -> str:
    """``<x a='1'/>`` -> ``<x a='1'>`` (keeping any space before the slash out)."""
    body = start_tag[:-2]
    return body.rstrip() + ">" if body != body.rstrip() else body + ">"


# ---------------------------------------------------------------------------- attributes

_XML_NAMESPACE = "{http://www.w3.org/XML/1998/namespace}"
_REFERENCE = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);")
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _attribute_key(e: etree._Element, name: str) -> str | None:
    """The lxml key of the attribute written ``name`` on ``e`` (None: a namespace declaration)."""
    if ":" not in name:
        return None if name == "xmlns" else name
    prefix, local = name.split(":", 1)
    if prefix == "xmlns":
        return None
    if prefix == "xml":
        return _XML_NAMESPACE + local
    uri = e.nsmap.get(prefix)
    if uri is None:
        raise SpliceImpossible(f"undeclared prefix in the attribute {name}")
    return f"{{{uri}}}{local}"


def _attribute_value(raw: str) -> str:
    """The value of an attribute written ``raw`` (between its quotes), as a parser reads it."""
    if "&" not in raw and "\t" not in raw and "\n" not in raw and "\r" not in raw:
        return raw
    raw = raw.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _REFERENCE.sub(_reference, raw)


def _reference(m: re.Match[str]) -> str:
    name = m.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    if name not in _PREDEFINED:
        raise SpliceImpossible(f"the entity &{name}; in an attribute")
    return _PREDEFINED[name]


def _same_value(now: str, was: str) -> bool:
    """Equal text, or the same number as libvirt reads it (``0x21`` = ``33``): keep the user's."""
    if now == was:
        return True
    numbers = [parse_uint(v) for v in (now, was)]
    return numbers[0] is not None and numbers[0] == numbers[1]


# ---------------------------------------------------------------------------- new nodes


def _serialize(node: etree._Element, quote: str) -> str:
    """A new node as text, attributes in its order and ``quote``, no namespace declarations
    (a new element lives in its parent's namespace and reuses the parent's prefix)."""
    if isinstance(node, etree._Comment):
        return f"<!--{node.text or ''}-->"
    if isinstance(node, etree._ProcessingInstruction):
        return etree.tostring(node, encoding="unicode", with_tail=False)
    if not isinstance(node.tag, str):
        raise SpliceImpossible(f"cannot write a new {type(node).__name__}")
    name = _qualified_name(node)
    items = cast("list[tuple[str, str]]", node.items())
    if items and _ATTR_SPECIAL.search("".join(k + v for k, v in items)):  # rare
        items = [(_attr_name(node, k), _escape_attr(v, quote)) for k, v in items]
    attrs = "".join([f" {k}={quote}{v}{quote}" for k, v in items])
    if not len(node) and not node.text:
        return f"<{name}{attrs}/>"
    inner = [_escape_text(node.text or "")]
    for child in node:
        inner.append(_serialize(child, quote))
        inner.append(_escape_text(child.tail or ""))
    return f"<{name}{attrs}>{''.join(inner)}</{name}>"


def _qualified_name(node: etree._Element) -> str:
    tag = str(node.tag)
    local = tag[tag.find("}") + 1 :]
    return f"{node.prefix}:{local}" if node.prefix else local


def _attr_name(node: etree._Element, key: str) -> str:
    if not key.startswith("{"):
        return key
    qname = etree.QName(key)
    for prefix, uri in node.nsmap.items():
        if uri == qname.namespace and prefix:
            return f"{prefix}:{qname.localname}"
    raise SpliceImpossible(f"no prefix for the attribute {key}")


_TEXT_SPECIAL = re.compile(r"[&<>]")
_ATTR_SPECIAL = re.compile(r"[&<\n\r\t'\"{]")  # (and a namespace in a name)


def _escape_text(text: str) -> str:
    if not _TEXT_SPECIAL.search(text):
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str, quote: str) -> str:
    if not _ATTR_SPECIAL.search(value):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    value = value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return value.replace("'", "&apos;") if quote == "'" else value.replace('"', "&quot;")
