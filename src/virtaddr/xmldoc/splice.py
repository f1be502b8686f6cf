"""Minimal edits: write a changed document as its original text with only the new text spliced in.

lxml re-serialises a whole document (double quotes, its own spelling of empty elements), which a
file under version control should not suffer. :func:`splice_document` instead keeps every byte of
the original and replaces only

* the start tag of an element whose attributes changed (a completed ``<address>``, an ``index=``
  or ``model=`` filled into a ``<controller>``): the tag is rewritten, its untouched attributes
  exactly as written, new ones placed after their predecessor in the tree's order, quoted like the
  tag's own attributes;
* the whitespace between two original neighbours where new elements go in: the new elements are
  written with the tree's indentation (which xmledit copied from their siblings);
* ``<x .../>`` that gains children, which becomes ``<x ...>``, the children and ``</x>``.

Original nodes are found in the original text by a small tokenizer (tags, comments, processing
instructions, CDATA, the DOCTYPE) and paired, in document order, with the nodes lxml parsed from
that text (which the passes kept, so they still carry their ``sourceline``). When the pairing
fails (an original node moved or vanished) :class:`SpliceImpossible` is raised and nothing is
produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from virtaddr.xmldoc.numbers import parse_uint
from virtaddr.xmldoc.xmlio import Document, safe_parser

__all__ = ["SpliceImpossible", "splice_document"]


class SpliceImpossible(Exception):
    """The changes cannot be expressed as insertions into the original text."""


@dataclass(slots=True)
class _Attr:
    name: str
    start: int  # the whitespace before the name
    end: int
    quote: str
    raw_value: str


@dataclass(slots=True)
class _Node:
    kind: str  # "element", "comment", "pi"
    name: str
    start: int
    end: int  # of the start tag (elements), of the node (others)
    empty: bool = False  # <x/>
    close_start: int = -1  # of </x>
    close_end: int = -1
    attrs: list[_Attr] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


_NAME = re.compile(r"[^\s/>=<]+")
_SPACE = re.compile(r"\s*")


def splice_document(doc: Document, original: bytes) -> bytes:
    """The bytes of ``doc`` (its tree changed by a pass) spliced into ``original``, its source.

    Raises :class:`SpliceImpossible` when the tree's original nodes no longer match the text.
    """
    try:
        fresh = etree.fromstring(original, safe_parser())
        text = original[len(doc.bom) :].decode(doc.codec or doc.encoding)
    except (etree.XMLSyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SpliceImpossible(f"the original no longer parses: {exc}") from None
    root_token = _tokenize(text)
    edits: list[tuple[int, int, str]] = []
    _Splicer(text, edits, doc.newline).element(root_token, doc.tree.getroot(), fresh)
    out, pos = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            raise SpliceImpossible("overlapping edits")
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return doc.bom + "".join(out).encode(doc.codec or doc.encoding, "xmlcharrefreplace")


# ---------------------------------------------------------------------------- pairing


class _Splicer:
    def __init__(self, text: str, edits: list[tuple[int, int, str]], newline: str) -> None:
        self.text = text
        self.edits = edits
        self.newline = newline

    def element(self, token: _Node, now: etree._Element, was: etree._Element) -> None:
        if not _same(token, now, was):
            raise SpliceImpossible(f"<{token.name}> at offset {token.start} does not match")
        gained = list(now.attrib.items()) != list(was.attrib.items())
        old_children = sorted((c for c in now if _is_original(c)), key=_line)
        if len(old_children) != len(was) or len(token.children) != len(was):
            raise SpliceImpossible(f"children of <{token.name}> changed")
        tag = self._start_tag(token, now, was) if gained else None
        if token.empty:
            if len(now) or now.text:
                content = self._content(now.text, list(now))
                close = f"</{token.name}>"
                start_tag = tag if tag is not None else self.text[token.start : token.end]
                self.edits.append((token.start, token.end, _open(start_tag) + content + close))
            elif tag is not None:
                self.edits.append((token.start, token.end, tag))
            return
        if tag is not None:
            self.edits.append((token.start, token.end, tag))
        # the regions between original children: before the first, between, after the last
        bounds = [token.end, *[t.start for t in token.children], token.close_start]
        ends = [token.end, *[t.close_end if t.close_end >= 0 else t.end for t in token.children]]
        # New nodes go after the original node before them in the tree (None: first). Original
        # siblings a pass moved (the primary video) stay where the user wrote them.
        groups: dict[int, list[etree._Element]] = {}
        anchor = -1
        for node in now:
            if _is_original(node):
                anchor = old_children.index(node)
            else:
                groups.setdefault(anchor, []).append(node)
        for i in range(len(old_children) + 1):
            new_nodes = groups.get(i - 1, [])
            now_text = now.text if i == 0 else old_children[i - 1].tail
            was_text = was.text if i == 0 else was[i - 1].tail
            if new_nodes or (now_text or "") != (was_text or ""):
                region = self._content(now_text, new_nodes)
                self.edits.append((ends[i], bounds[i + 1], region))
        for t, n, w in zip(token.children, old_children, was, strict=True):
            if t.kind == "element":
                self.element(t, n, w)
            elif t.kind != _kind(w) or n is not _same_node(n, w):
                raise SpliceImpossible(f"a {t.kind} at offset {t.start} does not match")

    def _content(self, text: str | None, nodes: list[etree._Element]) -> str:
        parts = [_escape_text(text or "")]
        for n in nodes:
            if _is_original(n):
                raise SpliceImpossible("an original node moved")
            parts.append(_serialize(n, _quote_of(self.text)))
            parts.append(_escape_text(n.tail or ""))
        joined = "".join(parts)
        return joined.replace("\n", self.newline) if self.newline != "\n" else joined

    def _start_tag(self, token: _Node, now: etree._Element, was: etree._Element) -> str:
        """The start tag rewritten for the element's new attributes, the rest as written."""
        raw = self.text
        quote = next((a.quote for a in token.attrs), _quote_of(raw))
        old_keys = [str(k) for k in was.attrib]
        old_attrs = {str(k): str(v) for k, v in was.attrib.items()}
        plain = [a for a in token.attrs if not a.name.startswith("xmlns")]
        if len(plain) != len(old_keys):
            raise SpliceImpossible(f"attributes of <{token.name}> do not match")
        by_key = dict(zip(old_keys, plain, strict=True))
        new_attrs = {str(k): str(v) for k, v in now.attrib.items()}
        pieces: list[tuple[str | None, str]] = []  # (key, text)
        for a in token.attrs:
            key = None if a.name.startswith("xmlns") else old_keys[plain.index(a)]
            if key is not None and key not in new_attrs:
                continue
            if key is not None and not _same_value(new_attrs[key], old_attrs[key]):
                value = _escape_attr(new_attrs[key], a.quote)
                piece = raw[a.start : a.end]
                head = piece[: piece.rindex(a.quote, 0, len(piece) - 1)]
                pieces.append((key, f"{head}{a.quote}{value}{a.quote}"))
            else:
                pieces.append((key, raw[a.start : a.end]))
        keys_now = list(new_attrs)
        for pos, key in enumerate(keys_now):
            if key in by_key:
                continue
            if key.startswith("{"):
                raise SpliceImpossible(f"a namespaced attribute was added to <{token.name}>")
            text = f" {key}={quote}{_escape_attr(new_attrs[key], quote)}{quote}"
            placed = {k for k, _ in pieces if k is not None}
            previous = [k for k in keys_now[:pos] if k in placed]
            at = 0
            if previous:
                at = 1 + max(i for i, (k, _) in enumerate(pieces) if k == previous[-1])
            pieces.insert(at, (key, text))
        attrs_end = token.attrs[-1].end if token.attrs else token.start + 1 + len(token.name)
        return (
            raw[token.start : token.start + 1 + len(token.name)]
            + "".join(t for _, t in pieces)
            + raw[attrs_end : token.end]
        )


def _open(start_tag: str) -> str:
    """``<x a='1'/>`` -> ``<x a='1'>`` (keeping any space before the slash out)."""
    body = start_tag[:-2]
    return body.rstrip() + ">" if body != body.rstrip() else body + ">"


def _same(token: _Node, now: etree._Element, was: etree._Element) -> bool:
    if not isinstance(was.tag, str) or not isinstance(now.tag, str):
        return False
    local = token.name.rsplit(":", 1)[-1]
    return (
        etree.QName(was).localname == local
        and now.tag == was.tag
        and now.sourceline == was.sourceline
    )


def _same_value(now: str, was: str) -> bool:
    """Equal text, or the same number as libvirt reads it (``0x21`` = ``33``): keep the user's."""
    if now == was:
        return True
    numbers = [parse_uint(v) for v in (now, was)]
    return numbers[0] is not None and numbers[0] == numbers[1]


def _kind(node: etree._Element) -> str:
    if isinstance(node, etree._Comment):
        return "comment"
    if isinstance(node, etree._ProcessingInstruction):
        return "pi"
    return "element" if isinstance(node.tag, str) else "other"


def _same_node(now: etree._Element, was: etree._Element) -> etree._Element | None:
    """``now`` when it is the node ``was`` is the fresh copy of (same kind, line and text)."""
    same = _kind(now) == _kind(was) and now.sourceline == was.sourceline and now.text == was.text
    return now if same else None


def _line(node: etree._Element) -> int:
    line = node.sourceline
    return line if isinstance(line, int) else 0


def _is_original(node: etree._Element) -> bool:
    return node.sourceline is not None


# ---------------------------------------------------------------------------- writing new nodes


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
    attrs = "".join(
        f" {_attr_name(node, str(k))}={quote}{_escape_attr(str(v), quote)}{quote}"
        for k, v in node.attrib.items()
    )
    if not len(node) and not node.text:
        return f"<{name}{attrs}/>"
    inner = [_escape_text(node.text or "")]
    for child in node:
        inner.append(_serialize(child, quote))
        inner.append(_escape_text(child.tail or ""))
    return f"<{name}{attrs}>{''.join(inner)}</{name}>"


def _qualified_name(node: etree._Element) -> str:
    local = etree.QName(node).localname
    return f"{node.prefix}:{local}" if node.prefix else local


def _attr_name(node: etree._Element, key: str) -> str:
    if not key.startswith("{"):
        return key
    qname = etree.QName(key)
    for prefix, uri in node.nsmap.items():
        if uri == qname.namespace and prefix:
            return f"{prefix}:{qname.localname}"
    raise SpliceImpossible(f"no prefix for the attribute {key}")


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str, quote: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    value = value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return value.replace("'", "&apos;") if quote == "'" else value.replace('"', "&quot;")


def _quote_of(text: str) -> str:
    """The quote the document uses most for attribute values (libvirt writes ')."""
    singles = len(re.findall(r"=\s*'", text))
    doubles = len(re.findall(r'=\s*"', text))
    return '"' if doubles > singles else "'"


# ---------------------------------------------------------------------------- tokenizer


def _tokenize(text: str) -> _Node:
    """The root element of ``text`` with its descendants, as spans of the text."""
    pos, n = 0, len(text)
    stack: list[_Node] = []
    root: _Node | None = None
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            break
        if text.startswith("<!--", lt):
            end = _find(text, "-->", lt + 4) + 3
            _add(stack, _Node("comment", "", lt, end))
        elif text.startswith("<![CDATA[", lt):
            end = _find(text, "]]>", lt + 9) + 3
        elif text.startswith("<!", lt):
            end = _doctype_end(text, lt)
        elif text.startswith("<?", lt):
            end = _find(text, "?>", lt + 2) + 2
            if stack:
                _add(stack, _Node("pi", "", lt, end))
        elif text.startswith("</", lt):
            end = _find(text, ">", lt + 2) + 1
            if not stack:
                raise SpliceImpossible(f"unbalanced end tag at offset {lt}")
            node = stack.pop()
            node.close_start, node.close_end = lt, end
        else:
            node, end = _start_tag(text, lt)
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise SpliceImpossible("a second root element")
            if not node.empty:
                stack.append(node)
        pos = end
        if pos >= n:
            break
    if root is None or stack:
        raise SpliceImpossible("no complete root element")
    return root


def _add(stack: list[_Node], node: _Node) -> None:
    if stack:  # nodes outside the root element are never edited
        stack[-1].children.append(node)


def _find(text: str, what: str, start: int) -> int:
    at = text.find(what, start)
    if at < 0:
        raise SpliceImpossible(f"unterminated markup at offset {start}")
    return at


def _doctype_end(text: str, start: int) -> int:
    pos, depth, quote = start + 2, 0, ""
    while pos < len(text):
        ch = text[pos]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth == 0:
            return pos + 1
        pos += 1
    raise SpliceImpossible("unterminated DOCTYPE")


def _start_tag(text: str, lt: int) -> tuple[_Node, int]:
    m = _NAME.match(text, lt + 1)
    if not m:
        raise SpliceImpossible(f"bad tag at offset {lt}")
    node = _Node("element", m.group(0), lt, -1)
    pos = m.end()
    while True:
        space = _SPACE.match(text, pos)
        assert space is not None
        after = space.end()
        if text.startswith("/>", after):
            node.empty, node.end = True, after + 2
            return node, node.end
        if text.startswith(">", after):
            node.end = after + 1
            return node, node.end
        name = _NAME.match(text, after)
        if not name or after == pos:
            raise SpliceImpossible(f"bad attribute at offset {after}")
        eq = _SPACE.match(text, name.end())
        assert eq is not None
        if not text.startswith("=", eq.end()):
            raise SpliceImpossible(f"attribute without value at offset {after}")
        value_start = _SPACE.match(text, eq.end() + 1)
        assert value_start is not None
        q = value_start.end()
        quote = text[q : q + 1]
        if quote not in ("'", '"'):
            raise SpliceImpossible(f"unquoted attribute at offset {q}")
        close = _find(text, quote, q + 1)
        node.attrs.append(_Attr(name.group(0), pos, close + 1, quote, text[q + 1 : close]))
        pos = close + 1
