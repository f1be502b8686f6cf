"""What changed in a document's tree, for the writer (:mod:`virtaddr.xmldoc.splice`).

A :class:`TextEdits` is filled in one of two ways. The write-back fills it as it works
(:func:`edits_for`): it writes its new elements as text right away (:meth:`TextEdits.append`,
:meth:`TextEdits.insert_after`), so the hundreds of new ``<address>`` and controller elements of
a large domain are never built as lxml elements, and notes the rarer changes it makes in the
tree (:meth:`TextEdits.attributes_changed`, :meth:`TextEdits.children_change`). Otherwise
:func:`virtaddr.xmldoc.treediff.differences` finds them by comparing the tree with a fresh parse
of the original.
"""

from __future__ import annotations

import re

from lxml import etree

from virtaddr.xmldoc import xmledit
from virtaddr.xmldoc.spans import SpliceImpossible
from virtaddr.xmldoc.xmlio import Document

__all__ = ["Before", "Piece", "TextEdits", "edits_for"]


class Piece:
    """New text inserted after an element (or after another piece): one added device."""

    __slots__ = ("next", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.next: Piece | None = None


class Before:
    """The children of an element before its list of children changed in the tree: each node,
    or None where the original node is gone, with the element's text and each child's tail."""

    __slots__ = ("nodes", "tails", "text")

    def __init__(
        self, nodes: list[etree._Element | None], text: str | None, tails: list[str | None]
    ) -> None:
        self.nodes = nodes
        self.text = text
        self.tails = tails


class TextEdits:
    """What changed in a document's tree, for :func:`write_document`.

    Used as a context manager around a pipeline run, it lets the write-back of that run claim
    it (:func:`edits_for`); the write-back then notes its changes here instead of building new
    elements. Documents with entities declared in their DOCTYPE are not offered (their content
    is not plain text), nor is anything but the original elements noted.
    """

    __slots__ = (
        "_indents",
        "_quote",
        "after",
        "appended",
        "attributes",
        "before",
        "claimed",
        "doc",
    )

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.attributes: set[etree._Element] = set()  # their start tags are compared
        self.before: dict[etree._Element, Before] = {}  # their children changed in the tree
        self.after: dict[etree._Element, Piece] = {}  # text right after the element
        self.appended: dict[etree._Element, tuple[str, str]] = {}  # (place, text): new last child
        self.claimed = False
        self._quote: str | None = None
        self._indents: dict[str, str] = {}  # a parent's blank text -> its children's indent

    def __enter__(self) -> TextEdits:
        if self.doc.original and not _declares_entities(self.doc.tree):
            _RECORDING[self.doc.root] = self
        return self

    def __exit__(self, *exc: object) -> None:
        if _RECORDING.get(self.doc.root) is self:
            del _RECORDING[self.doc.root]

    @property
    def quote(self) -> str:
        """The quote the document uses most for attribute values (libvirt writes ')."""
        if self._quote is None:
            self._quote = _quote_of(self.doc.original)
        return self._quote

    def attributes_changed(self, elem: etree._Element) -> None:
        """The attributes of ``elem`` change in the tree: its start tag is written again."""
        if elem.sourceline:
            self.attributes.add(elem)

    def children_change(self, elem: etree._Element) -> None:
        """The children of ``elem`` are about to change in the tree: remember them as they are."""
        if elem.sourceline and elem not in self.before:
            if elem in self.appended or any(child in self.after for child in elem):
                raise SpliceImpossible(f"<{elem.tag}> changes in the tree after text was added")
            kids: list[etree._Element | None] = list(elem)
            self.before[elem] = Before(kids, elem.text, [k.tail for k in elem])

    def builds_children(self, elem: etree._Element) -> bool:
        """True when new children of ``elem`` must be made as elements: it is new itself, or its
        children have changed in the tree."""
        return not elem.sourceline or elem in self.before

    def append(self, parent: etree._Element, text: str) -> None:
        """``text`` (an element) becomes the last child of ``parent``, laid out as
        :func:`~virtaddr.xmldoc.xmledit.append_child` would lay it out."""
        if parent in self.appended or self.builds_children(parent):
            raise SpliceImpossible(f"cannot append text to <{parent.tag}>")
        own = parent.text
        if own is not None and own in self._indents and len(parent):
            # The usual case, hundreds of times: after the last child, on a line of its own
            # indented as the first child (whose indentation ``own`` gives alone).
            self.appended[parent] = ("after-last", self._indents[own] + text)
            return
        place, before, after = xmledit.append_layout(parent)
        if place == "after-last" and own is not None and "\n" in own and not own.strip():
            self._indents[own] = before
        self.appended[parent] = (place, before + text + after)

    def insert_after(self, anchor: etree._Element | Piece, text: str) -> Piece:
        """``text`` goes right after ``anchor`` (an original element, or a piece inserted
        before); the returned piece can be an anchor in turn."""
        piece = Piece(text)
        if isinstance(anchor, Piece):
            piece.next, anchor.next = anchor.next, piece
        else:
            parent = anchor.getparent()
            if not anchor.sourceline or parent is None or self.builds_children(parent):
                raise SpliceImpossible(f"cannot insert text after <{anchor.tag}>")
            piece.next = self.after.get(anchor)
            self.after[anchor] = piece
        return piece


_RECORDING: dict[etree._Element, TextEdits] = {}


def edits_for(root: etree._Element) -> TextEdits | None:
    """The edits the document of ``root`` is being written with, claimed by the caller (the
    write-back): None when the tree is to be changed as usual."""
    edits = _RECORDING.get(root)
    if edits is not None:
        if edits.claimed:
            raise RuntimeError("a document's write-back ran twice while its text was recorded")
        edits.claimed = True
    return edits


def _declares_entities(tree: etree._ElementTree) -> bool:
    dtd = tree.docinfo.internalDTD
    return dtd is not None and any(True for _ in dtd.iterentities())  # type: ignore[attr-defined]


_SPACED = re.compile(r"=\s")
_SPACED_SINGLE = re.compile(r"=\s+'")
_SPACED_DOUBLE = re.compile(r'=\s+"')


def _quote_of(text: str) -> str:
    """The quote the document uses most for attribute values (libvirt writes ')."""
    singles = text.count("='")
    doubles = text.count('="')
    if _SPACED.search(text):  # (rare: ``a = 'b'``)
        singles += len(_SPACED_SINGLE.findall(text))
        doubles += len(_SPACED_DOUBLE.findall(text))
    return '"' if doubles > singles else "'"
