"""What changed in a document's tree, found by comparing it with a fresh parse of the text it
came from: for trees changed by anything but a write-back writing text (``plan``, the hotplug
room, a live host's machine name, a profile).

Original nodes are recognised by their kind, tag (or text) and source line, which new nodes do
not have; an unchanged subtree is recognised by lxml (its serialisation, in C) and not looked
into, so the cost stays linear in the file's size and in each element's list of children.
"""

from __future__ import annotations

from lxml import etree

from virtaddr.xmldoc.edits import Before, TextEdits
from virtaddr.xmldoc.spans import SpliceImpossible
from virtaddr.xmldoc.xmlio import Document, safe_parser

__all__ = ["differences"]


def differences(doc: Document) -> TextEdits:
    """What changed in ``doc.tree`` since it was parsed, found against a fresh parse."""
    edits = TextEdits(doc)
    data = doc.bom + doc.original.encode(doc.codec or doc.encoding)
    try:
        was = etree.fromstring(data, safe_parser())
    except (etree.XMLSyntaxError, LookupError, UnicodeError) as exc:
        raise SpliceImpossible(f"the original no longer parses: {exc}") from None
    now = doc.root
    if now.tag != was.tag or now.sourceline != was.sourceline:
        raise SpliceImpossible("the root element changed")
    _compare(edits, now, was)
    return edits


def _compare(edits: TextEdits, now: etree._Element, was: etree._Element) -> None:
    if now.items() != was.items() and _attributes(now) != _attributes(was):
        edits.attributes.add(now)
    now_kids, was_kids = list(now), list(was)
    pairs = _pair(now_kids, was_kids)
    same = (
        len(now_kids) == len(was_kids)
        and all(p is n for p, n in zip(pairs, now_kids, strict=True))
        and now.text == was.text
        and all(n.tail == w.tail for n, w in zip(now_kids, was_kids, strict=True))
    )
    if not same:
        edits.before[now] = Before(pairs, was.text, [w.tail for w in was_kids])
    for n, w in zip(pairs, was_kids, strict=True):
        if n is not None and isinstance(w.tag, str) and _differs(n, w):
            _compare(edits, n, w)


def _pair(
    now_kids: list[etree._Element], was_kids: list[etree._Element]
) -> list[etree._Element | None]:
    """For each original child, the node of the tree it is now (None: gone).

    A node is the original one if it has the same kind, tag (or text) and source line; among
    equal ones, in order. New nodes have no source line (or line 0, xmledit's mark).
    """
    where: dict[tuple[object, ...], list[int]] = {}
    for i, w in enumerate(was_kids):
        where.setdefault(_key(w), []).append(i)
    taken: dict[tuple[object, ...], int] = {}
    pairs: list[etree._Element | None] = [None] * len(was_kids)
    for n in now_kids:
        if not n.sourceline:
            continue
        key = _key(n)
        found = where.get(key)
        if found:
            count = taken.get(key, 0)
            if count < len(found):
                pairs[found[count]] = n
                taken[key] = count + 1
    return pairs


def _key(node: etree._Element) -> tuple[object, ...]:
    if isinstance(node.tag, str):
        return (node.tag, node.sourceline)
    return (node.tag, node.sourceline, node.text)


def _attributes(elem: etree._Element) -> dict[str, str]:
    return {str(k): str(v) for k, v in elem.attrib.items()}


def _differs(now: etree._Element, was: etree._Element) -> bool:
    """Whether the subtree changed (lxml compares the large ones, in C)."""
    if not len(was) and not len(now):
        return now.text != was.text or now.items() != was.items()
    return etree.tostring(now, with_tail=False) != etree.tostring(was, with_tail=False)
