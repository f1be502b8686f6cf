"""Finding nodes in the text (virtaddr.xmldoc.spans): the spans agree with lxml's parse, whatever
hides a ``<`` or a ``>`` (comments, CDATA, PIs, attribute values) or nests a name in itself."""

from __future__ import annotations

import pytest
from lxml import etree

from virtaddr.xmldoc.spans import Span, SpliceImpossible, children, root_span

TRICKY = """<?xml version='1.0'?>
<!DOCTYPE domain [ <!ELEMENT domain ANY> <!-- ']>' --> ]>
<!-- <domain> before the root -->
<?pi <domain>?>
<p:domain xmlns:p='urn:p' a = "x>y" b='/>'>
  <p:a x='1'/><b  y = '2' ></b>
  <!-- </p:domain> <b> -->
  <![CDATA[ </b> <c> ]]>
  <?target <b/> ?>
  <b><b><b/></b><!-- </b> --></b>
  <c>text &lt; &amp; more</c>
  <b/>
</p:domain>
"""


def _lxml_kinds(elem: etree._Element) -> list[tuple[str, str]]:
    kinds = []
    for node in elem:
        if isinstance(node, etree._Comment):
            kinds.append(("comment", ""))
        elif isinstance(node, etree._ProcessingInstruction):
            kinds.append(("pi", ""))
        else:
            kinds.append(("element", etree.QName(node).localname))
    return kinds


def _shape(elem: etree._Element) -> list[object]:
    return [
        (etree.QName(e).localname, dict(e.attrib), e.text, e.tail if e is not elem else None)
        if isinstance(e.tag, str)
        else (e.text, e.tail)
        for e in elem.iter()
    ]


def _check(text: str, span: Span, elem: etree._Element) -> None:
    kids = children(text, span)
    assert [(k.kind, k.name.rsplit(":", 1)[-1]) for k in kids] == _lxml_kinds(elem)
    assert text[span.close_start : span.end] == f"</{span.name}>" or span.empty
    for kid, node in zip(kids, elem, strict=True):
        if kid.kind == "element":
            # the span holds exactly the element: parsed alone, it is the same element
            alone = text[kid.start : kid.end]
            if ":" in kid.name:
                alone = alone.replace("<p:a", "<p:a xmlns:p='urn:p'", 1)
            assert _shape(etree.fromstring(alone)) == _shape(node)
            _check(text, kid, node)


def test_spans_agree_with_lxml() -> None:
    root = etree.fromstring(TRICKY.encode())
    span = root_span(TRICKY)
    assert TRICKY[span.start :].startswith("<p:domain ")
    assert TRICKY[span.start_end - 7 : span.start_end] == "b='/>'>"
    _check(TRICKY, span, root)
    assert span.end == len(TRICKY.rstrip())


def test_many_children_are_listed_in_one_pass() -> None:
    entries = "".join(f"<e i='{i}'><f/><!-- {i} --></e>\n" for i in range(20000))
    text = f"<r><m>\n{entries}</m><d><x/></d></r>"
    root = root_span(text)
    m, d = children(text, root)
    assert (m.name, d.name) == ("m", "d")
    kids = children(text, m)
    assert len(kids) == 20000
    assert text[kids[-1].start : kids[-1].end] == "<e i='19999'><f/><!-- 19999 --></e>"


@pytest.mark.parametrize("text", ["<a><b></a>", "<a>", "no root"])
def test_broken_text_is_refused(text: str) -> None:
    with pytest.raises(SpliceImpossible):
        children(text, root_span(text))
