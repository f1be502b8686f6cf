"""Where the nodes of a document are in its text: elements, comments and processing instructions
as spans of the text, found on demand.

The splicer needs the place of only the few elements it edits and of their ancestors, so nothing
is tokenized ahead: :func:`root_span` finds the root element's start tag, :func:`children` the
children of one element. A child element's end is found by one regular-expression search for the
tags of its own name (and the comments, CDATA sections and processing instructions that could
hide one), in C, so a ``<metadata>`` of 40,000 entries costs one scan, not 40,000 Python steps.

The text is a well-formed document (lxml parsed it), which keeps this simple: a ``<`` outside a
comment, CDATA section or processing instruction always starts a tag (attribute values and
character data cannot hold one), and tags balance.
"""

from __future__ import annotations

import re

__all__ = ["ATTRIBUTE", "Span", "SpliceImpossible", "children", "root_span"]


class SpliceImpossible(Exception):
    """The changes cannot be expressed as edits of the original text."""


class Span:
    """One node of the text: ``kind`` is ``element``, ``comment`` or ``pi``.

    ``start``/``end`` bound the whole node (an element with its content and end tag);
    ``start_end`` is the end of an element's start tag and ``close_start`` the start of its end
    tag (-1 for ``<x/>``, whose ``empty`` is true). ``name`` is an element's name as written,
    with its prefix.
    """

    __slots__ = ("close_start", "empty", "end", "kind", "name", "start", "start_end")

    def __init__(self, kind: str, name: str, start: int, start_end: int, empty: bool) -> None:
        self.kind = kind
        self.name = name
        self.start = start
        self.start_end = start_end
        self.empty = empty
        self.close_start = -1
        self.end = start_end if empty or kind != "element" else -1

    def __repr__(self) -> str:
        return f"Span({self.kind} {self.name!r} {self.start}:{self.end})"


# A start tag: its name, its attributes (one loop step each), and the slash of ``<x/>``.
_START_TAG = re.compile(
    r"""<([^\s/>!?][^\s/>]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>"""
)
ATTRIBUTE = re.compile(r"""(\s+)([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""")
"""One attribute of a start tag: the whitespace before it, its name and its quoted value."""

_CLOSERS: dict[str, re.Pattern[str]] = {}


def root_span(text: str) -> Span:
    """The root element of ``text`` (after the declaration, DOCTYPE, comments and PIs); its end
    is found by :func:`children`."""
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            raise SpliceImpossible("no root element")
        if text.startswith("<?", lt):
            pos = _find(text, "?>", lt + 2) + 2
        elif text.startswith("<!--", lt):
            pos = _find(text, "-->", lt + 4) + 3
        elif text.startswith("<!", lt):
            pos = _doctype_end(text, lt)
        else:
            m = _START_TAG.match(text, lt)
            if m is None:
                raise SpliceImpossible(f"unreadable start tag at offset {lt}")
            return Span("element", m.group(1), lt, m.end(), bool(m.group(3)))


def children(text: str, span: Span) -> list[Span]:
    """The child nodes of the element ``span`` in order (text and CDATA are not nodes).

    Also sets the element's ``close_start`` and ``end``. Each child element is skipped whole by
    :func:`_close`, so the cost is that of the element's own children, not its descendants'.
    """
    kids: list[Span] = []
    if span.empty:
        return kids
    find = text.find
    startswith = text.startswith
    start_tag = _START_TAG.match
    pos = span.start_end
    while True:
        lt = find("<", pos)
        if lt < 0:
            raise SpliceImpossible(f"<{span.name}> at offset {span.start} is not closed")
        mark = text[lt + 1 : lt + 2]
        if mark == "/":
            if not startswith(span.name, lt + 2):
                raise SpliceImpossible(f"unbalanced end tag at offset {lt}")
            span.close_start = lt
            span.end = _find(text, ">", lt) + 1
            return kids
        if mark == "!":
            if startswith("<!--", lt):
                pos = _find(text, "-->", lt + 4) + 3
                kids.append(Span("comment", "", lt, pos, True))
            elif startswith("<![CDATA[", lt):
                pos = _find(text, "]]>", lt + 9) + 3  # character data, not a node
            else:
                raise SpliceImpossible(f"unexpected markup at offset {lt}")
        elif mark == "?":
            pos = _find(text, "?>", lt + 2) + 2
            kids.append(Span("pi", "", lt, pos, True))
        else:
            m = start_tag(text, lt)
            if m is None:
                raise SpliceImpossible(f"unreadable start tag at offset {lt}")
            name, slash = m.group(1, 3)
            child = Span("element", name, lt, m.end(), bool(slash))
            if not slash:
                _close(text, child)
            kids.append(child)
            pos = child.end


def _close(text: str, span: Span) -> None:
    """Find the end tag of the element ``span``: the tags of its name, counted, and nothing else
    (what a comment, CDATA section or PI holds is skipped whole)."""
    name = span.name
    pos = span.start_end
    # Usually nothing of that name, and no comment, CDATA section or PI, comes before the end
    # tag: plain searches say so (for a large element, one search for all three).
    end_tag = text.find("</" + name, pos)
    if end_tag >= 0 and (
        not _hider(name).search(text, pos, end_tag)
        if end_tag - pos > 4096
        else (
            text.find("<" + name, pos, end_tag) < 0
            and text.find("<!", pos, end_tag) < 0
            and text.find("<?", pos, end_tag) < 0
        )
    ):
        after = end_tag + 2 + len(name)
        gt = text.find(">", after)
        if gt >= 0 and not text[after:gt].strip():
            span.close_start = end_tag
            span.end = gt + 1
            return
    closer = _CLOSERS.get(name)
    if closer is None:
        closer = _CLOSERS[name] = re.compile(
            r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(/?)" + re.escape(name) + r"(?=[\s/>])",
            re.S,
        )
    depth = 1
    search = closer.search
    while True:
        m = search(text, pos)
        if m is None:
            raise SpliceImpossible(f"<{name}> at offset {span.start} is not closed")
        slash = m.group(1)
        if slash is None:  # a comment, CDATA section or PI
            pos = m.end()
        elif slash:
            depth -= 1
            gt = _find(text, ">", m.end())
            if not depth:
                span.close_start = m.start()
                span.end = gt + 1
                return
            pos = gt + 1
        else:
            tag = _START_TAG.match(text, m.start())
            if tag is None:
                raise SpliceImpossible(f"unreadable start tag at offset {m.start()}")
            if not tag.group(3):
                depth += 1
            pos = tag.end()


def _hider(name: str) -> re.Pattern[str]:
    """What could hide or open an end tag of ``name``: a comment, CDATA section or PI, or a tag
    of that name."""
    hider = _HIDERS.get(name)
    if hider is None:
        hider = _HIDERS[name] = re.compile(r"<(?:[!?]|" + re.escape(name) + r"[\s/>])")
    return hider


_HIDERS: dict[str, re.Pattern[str]] = {}


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
