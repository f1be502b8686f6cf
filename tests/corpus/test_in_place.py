"""``assign`` on every corpus input: only new text, nothing else of the file changes.

For each ``libvirt-tests/NAME/input.xml``: the spliced result (what every output is) parses to
the same document as the tree the pass completed, serialised by lxml (C14N 2.0, with one
deliberate exception: a number the user wrote that assign keeps, such as ``bus='33'``, stays
spelled as written, so numbers compare by value; videos compare as a set); a line diff against
the original shows only added lines, lines moved whole (the primary video, which assign moves
first), or changed lines that are the start tag of an element gaining attributes (or children:
``<x/>`` -> ``<x>``) in which every attribute the user wrote is still there, in the same order
(only a value assign changes, like a virtio-serial ``bus``, differs); and assigning the result
again changes nothing.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from lxml import etree

from parity import corpus_dir, corpus_missing_reason

pytestmark = pytest.mark.corpus

_START_TAG = re.compile(r"\s*<([\w:.-]+)(\s[^<>]*)?/?>\s*\Z")
_ATTR = re.compile(r"""\s([\w:.-]+)\s*=\s*('[^']*'|"[^"]*")""")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")


def _inputs() -> list[str]:
    if corpus_missing_reason():
        return ["no-corpus"]
    base = corpus_dir() / "libvirt-tests"
    return sorted(p.name for p in base.iterdir() if (p / "input.xml").is_file())


def _assign(data: bytes, name: str) -> tuple[bytes, bytes]:
    """(the completed tree serialised by lxml, the spliced output) of assign on ``data``."""
    from virtaddr import api
    from virtaddr.xmldoc import xmlio

    doc = xmlio.parse_document(data, name)
    result = api.assign_tree(doc.tree, source=name, libvirt="9.0")
    assert result.ok, [str(e) for e in result.errors]
    spliced = api.assign_xml(data, source=name, libvirt="9.0").xml
    assert spliced is not None
    return xmlio.serialize_document(doc), spliced


def _names(line: str) -> list[str]:
    return [a.group(1) for a in _ATTR.finditer(line)]


def _canonical(data: bytes) -> str:
    """C14N 2.0 of ``data`` with the <video> elements in a fixed order, numbers by value."""
    root = etree.fromstring(data)
    for address in root.iter("{*}address"):
        for key, value in address.attrib.items():
            if _NUMBER.fullmatch(value):
                base = (
                    16
                    if value[:2].lower() == "0x"
                    else 8
                    if len(value) > 1 and value[0] == "0"
                    else 10
                )
                address.set(key, str(int(value, base)))
    for devices in root.iter("{*}devices"):
        videos = [v for v in devices if isinstance(v.tag, str) and v.tag.endswith("video")]
        if len(videos) > 1:
            first = devices.index(videos[0])
            texts = sorted(videos, key=lambda v: etree.tostring(v, method="c14n2"))
            for v in videos:
                devices.remove(v)
            for offset, v in enumerate(texts):
                devices.insert(first + offset, v)
    return etree.tostring(root, method="c14n2").decode()


def _only_allowed_changes(before: str, after: str) -> list[str]:
    old, new = before.splitlines(), after.splitlines()
    problems = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    opcodes = matcher.get_opcodes()
    inserted = [line for op, _, _, j1, j2 in opcodes if op == "insert" for line in new[j1:j2]]
    for op, i1, i2, j1, j2 in opcodes:
        if op in ("equal", "insert"):
            continue
        if op == "delete":
            moved = old[i1:i2]
            if all(inserted.count(line) >= moved.count(line) for line in moved):
                continue  # lines moved whole (the primary video)
            problems.append(f"lines {i1 + 1}-{i2} removed: {old[i1:i2]!r}")
            continue
        for line in old[i1:i2]:
            m = _START_TAG.match(line)
            if not m:
                problems.append(f"changed line is not a start tag: {line!r}")
                continue
            kept = [
                cand for cand in new[j1:j2]
                if cand.startswith(line[: m.end(1)])
                and _names(line) == [n for n in _names(cand) if n in _names(line)]
            ]  # fmt: skip
            if not kept:
                problems.append(f"start tag lost its attributes as written: {line!r}")
    return problems


@pytest.mark.parametrize("name", _inputs())
def test_in_place_changes_only_new_text(name: str, corpus: Path) -> None:
    data = (corpus / "libvirt-tests" / name / "input.xml").read_bytes()
    normal, spliced = _assign(data, name)
    assert _canonical(spliced) == _canonical(normal)
    problems = _only_allowed_changes(data.decode("utf-8"), spliced.decode("utf-8"))
    assert not problems, "\n".join(problems)
    assert _assign(spliced, name)[1] == spliced, "a second --in-place changed the file"
