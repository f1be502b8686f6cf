"""The one writer for text (virtaddr.xmldoc.splice): every output of a text, bytes or file input
is the input's text with only the new text spliced in.

Expected texts are written by hand: every byte of the input stays, new text goes in between; an
attribute added to a tag takes that tag's quotes, a new element the document's usual quotes.
Each case runs both ways the writer learns what changed: from the write-back, which writes its
new elements as text (``text``), and from comparing the changed tree with the original
(``tree``: what ``plan`` and the hotplug room use, and a stand-in pipeline in test_cli).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from virtaddr import api
from virtaddr.cli import main
from virtaddr.passes.pipeline import assign_deep
from virtaddr.passes.versions import rules_for
from virtaddr.xmldoc import splice, xmlio

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

MESSY = b"""<?xml version="1.0"?>
<!-- kept -->
<domain type="qemu">
  <name>messy</name>
  <memory>262144</memory>
  <os><type arch="x86_64" machine="pc">hvm</type></os>
  <devices>
    <!-- a comment among the devices -->
    <interface type="user"
               trustGuestRxFilters="no"/>
    <controller model='piix3-uhci'   type='usb'>
    </controller>
    <memballoon model="none"/>
  </devices>
</domain>
"""

MESSY_AFTER = b"""<?xml version="1.0"?>
<!-- kept -->
<domain type="qemu">
  <name>messy</name>
  <memory>262144</memory>
  <os><type arch="x86_64" machine="pc">hvm</type></os>
  <devices>
    <!-- a comment among the devices -->
    <interface type="user"
               trustGuestRxFilters="no">
      <address type="pci" domain="0x0000" bus="0x00" slot="0x02" function="0x0"/>
    </interface>
    <controller model='piix3-uhci'   type='usb' index='0'>
      <address type="pci" domain="0x0000" bus="0x00" slot="0x01" function="0x2"/>
    </controller>
    <controller type="pci" index="0" model="pci-root"/>
    <memballoon model="none"/>
  </devices>
</domain>
"""


def _as_text(data: bytes, deep: bool = False, libvirt: str = "9.0") -> bytes:
    """assign, the write-back writing its new elements as text."""
    doc = xmlio.parse_document(data, "t.xml")
    with splice.TextEdits(doc) as edits:
        result = (
            assign_deep(doc.tree, rules=rules_for(libvirt))
            if deep
            else api.assign_tree(doc.tree, libvirt=libvirt)
        )
        assert result.ok, [str(e) for e in result.errors]
    assert edits.claimed
    return splice.write_document(doc, edits)


def _from_tree(data: bytes, deep: bool = False, libvirt: str = "9.0") -> bytes:
    """assign into the tree, the changes found by comparing it with the original."""
    doc = xmlio.parse_document(data, "t.xml")
    result = (
        assign_deep(doc.tree, rules=rules_for(libvirt))
        if deep
        else api.assign_tree(doc.tree, libvirt=libvirt)
    )
    assert result.ok, [str(e) for e in result.errors]
    return splice.write_document(doc)


WRITERS = pytest.mark.parametrize("write", [_as_text, _from_tree], ids=["text", "tree"])
Write = Callable[[bytes], bytes]


@WRITERS
def test_messy_document_keeps_every_byte(write: Write) -> None:
    assert write(MESSY) == MESSY_AFTER


@WRITERS
def test_crlf_document_gets_crlf_lines(write: Write) -> None:
    data = MESSY.replace(b"\n", b"\r\n")
    assert write(data) == MESSY_AFTER.replace(b"\n", b"\r\n")


@WRITERS
def test_numbers_spelled_by_the_user_stay(write: Write) -> None:
    data = MESSY.replace(
        b'trustGuestRxFilters="no"/>',
        b"trustGuestRxFilters=\"no\">\n      <address type='pci' slot='5'/>\n    </interface>",
    )
    out = write(data)
    assert b"<address type='pci' domain='0x0000' bus='0x00' slot='5' function='0x0'/>" in out


@WRITERS
def test_second_run_changes_nothing(write: Write) -> None:
    once = write(MESSY)
    assert write(once) == once


def test_every_output_keeps_quotes_and_attribute_order(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """stdout, -o, --out-dir, --in-place and the library: the same spliced text."""
    path = tmp_path / "d.xml"
    path.write_bytes(MESSY)
    assert main(["assign", str(path)]) == 0
    assert capsysbinary.readouterr().out == MESSY_AFTER
    assert main(["assign", str(path), "-o", str(tmp_path / "o.xml")]) == 0
    assert (tmp_path / "o.xml").read_bytes() == MESSY_AFTER
    (tmp_path / "out").mkdir()
    assert main(["assign", "--out-dir", str(tmp_path / "out"), str(path)]) == 0
    assert (tmp_path / "out" / "d.xml").read_bytes() == MESSY_AFTER
    assert api.assign_xml(MESSY).xml == MESSY_AFTER
    assert api.assign_xml(MESSY.decode()).xml == MESSY_AFTER.decode()
    assert api.assign_file(path).xml == MESSY_AFTER
    assert path.read_bytes() == MESSY, "nothing but --in-place writes the input"
    assert main(["assign", "--in-place", str(path)]) == 0
    assert path.read_bytes() == MESSY_AFTER


def test_plan_output_is_spliced_too() -> None:
    nic = "<interface type='user'><model type='virtio'/></interface>"
    after = api.plan(MESSY_AFTER.decode(), [nic])
    new = (
        '    <interface type="user">\n      <model type="virtio"/>\n'
        '      <address type="pci" domain="0x0000" bus="0x00" slot="0x03" function="0x0"/>\n'
        "    </interface>\n"
    )
    at = MESSY_AFTER.index(b"    <controller model=")
    assert after.xml == (MESSY_AFTER[:at] + new.encode() + MESSY_AFTER[at:]).decode()


VIDEOS = b"""<domain type='qemu'>
  <name>v</name>
  <memory>262144</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <video>
      <model type='qxl'   vram='65536'/>
    </video>
    <!-- the primary one -->
    <video>
      <model type='qxl' primary='yes'/>
    </video>
    <memballoon model='none'/>
  </devices>
</domain>
"""


@WRITERS
def test_primary_video_moves_first_with_its_own_text(write: Write) -> None:
    out = write(VIDEOS).decode()
    assert out.index("primary='yes'") < out.index("vram='65536'")
    assert (
        "    <video>\n      <model type='qxl' primary='yes'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
        "    </video>\n    <video>\n      <model type='qxl'   vram='65536'/>\n"
    ) in out
    assert "<!-- the primary one -->" in out


@WRITERS
def test_an_address_libvirt_drops_is_cut_out(write: Write) -> None:
    data = (FIXTURES / "diff-usb-none-pci-address-dropped.in.xml").read_bytes()
    out = write(data).decode()
    diff = difflib.ndiff(data.decode().splitlines(), out.splitlines())
    removed = [line for line in diff if line.startswith("- ")]
    assert removed == [
        "- <controller type='usb' model='none'><address type='pci' domain='0x0000' bus='0' "
        "slot='3' function='0'/></controller><interface type='user'><model type='virtio'/>"
        "</interface>"
    ]
    assert "<controller type='usb' index='0' model='none'></controller>" in out


def _big(entries: int, disks: int) -> bytes:
    metadata = "".join(
        f"    <app:entry xmlns:app='urn:app' key='k{i}'>v &lt; {i}</app:entry>\n"
        for i in range(entries)
    )
    devices = "".join(
        f"    <disk type='file'>\n      <source file='/d{i}.img'/>\n"
        f"      <target dev='vd{chr(97 + i // 26)}{chr(97 + i % 26)}' bus='virtio'/>\n"
        "    </disk>\n"
        for i in range(disks)
    )
    return (
        "<domain type='qemu'>\n  <name>big</name>\n  <memory>262144</memory>\n"
        f"  <metadata>\n    <!-- {entries} entries -->\n{metadata}  </metadata>\n"
        "  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n"
        f"  <devices>\n{devices}  </devices>\n</domain>\n"
    ).encode()


@WRITERS
def test_a_parent_with_many_children(write: Write) -> None:
    """20,000 children in <metadata>, 60 disks: the same result as without the metadata, which
    comes out byte for byte (the splice visits only what leads to a change)."""
    small, big = _big(0, 60), _big(20000, 60)
    out_small, out_big = write(small), write(big)
    start, end = big.index(b"  <metadata>"), big.index(b"</metadata>\n") + 12
    assert out_big[start:end] == big[start:end]
    assert (
        out_big[:start] + out_big[end:]
        == out_small[: small.index(b"  <metadata>")]
        + (out_small[small.index(b"</metadata>\n") + 12 :])
    )
    assert out_small.count(b"<address type='pci'") > 120  # 60 disks, 60 root ports, ...


def test_many_children_changed_in_the_tree() -> None:
    """Edits spread over a parent of 30,000 children, found by comparing with the original."""
    kids = "".join(f"\n  <k n='{i}'/>" for i in range(30000))
    doc = xmlio.parse_document(f"<domain>{kids}\n</domain>\n", "t.xml")
    root = doc.root
    root[15000].set("n", "changed")
    root[20000].set("m", "new")
    root.remove(root[5000])
    new = etree.Element("k", n="first")
    new.tail = "\n  "
    root.insert(0, new)
    root[-1].addnext(etree.Element("k", n="last"))  # after the last child's tail
    out = splice.write_document(doc).decode()
    expected = (
        "<domain>\n  <k n='first'/>\n  "
        + "".join(
            f"\n  <k n='{i}'/>"
            if i not in (15000, 20000)
            else ("\n  <k n='changed'/>" if i == 15000 else "\n  <k n='20000' m='new'/>")
            for i in range(30000)
            if i != 5000
        )[3:]
        + "\n<k n='last'/></domain>\n"
    )
    assert out == expected


def test_deep_growth_writes_thousands_of_devices_as_text() -> None:
    data = _big(0, 600)
    assert _as_text(data, deep=True) == _from_tree(data, deep=True)


NAMESPACED = [
    b"<domain xmlns='urn:d' type='qemu'>\n  <name>n</name>\n  <memory>65536</memory>\n"
    b"  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <devices>\n"
    b"    <interface type='user'/>\n  </devices>\n</domain>\n",
    b"<d:domain xmlns:d='urn:d' type='qemu'>\n  <d:name>n</d:name>\n"
    b"  <d:memory>65536</d:memory>\n"
    b"  <d:os><d:type arch='x86_64' machine='pc'>hvm</d:type></d:os>\n  <d:devices>\n"
    b"    <d:interface type='user'/>\n  </d:devices>\n</d:domain>\n",
]


@pytest.mark.parametrize("data", NAMESPACED, ids=["default", "prefixed"])
def test_namespaced_documents(data: bytes) -> None:
    out = _as_text(data)
    assert out == _from_tree(data)
    prefix = b"d:" if data.startswith(b"<d:") else b""
    assert b"    <" + prefix + b"interface type='user'>\n      <" + prefix + b"address " in out
    assert b"\n    <" + prefix + b"controller type='pci' index='0' model='pci-root'/>" in out
    assert out.count(b"xmlns") == 1


@pytest.mark.parametrize(
    "data",
    [
        b"<domain type='qemu'><name>o</name><memory>65536</memory><os><type arch='x86_64' "
        b"machine='pc'>hvm</type></os><devices><interface type='user'/></devices></domain>",
        b"<domain type='qemu'>\n  <name>o</name>\n  <memory>65536</memory>\n  <os><type "
        b"arch='x86_64' machine='pc'>hvm</type></os>\n</domain>\n",
        b"<domain type='qemu'>\n  <name>o</name>\n  <memory>65536</memory>\n  <os><type "
        b"arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n"
        b"    <controller type='pci' index='0' model='pcie-root'/>\n"
        b"    <controller type='pci' index='1' model='pcie-root-port'/>\n"
        b"    <controller type='pci' model='pcie-to-pci-bridge'/>\n  </devices>\n</domain>\n",
    ],
    ids=["one-line", "no-devices", "controllers-completed"],
)
def test_unusual_layouts_are_written_the_same_both_ways(data: bytes) -> None:
    assert _as_text(data) == _from_tree(data)


def test_entities_declared_in_a_doctype() -> None:
    """Spliced where the changes are away from them; written by lxml where they are not."""
    data = (
        b"<!DOCTYPE domain [<!ENTITY n 'ent'>]>\n<domain type='qemu'><name>&n;</name>"
        b"<memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
        b"<devices/></domain>\n"
    )
    out = api.assign_xml(data).xml
    assert out is not None and out.startswith(data[: data.index(b"<devices/>")])
    assert b"<controller type='pci' index='0' model='pci-root'/>" in out
    out = api.assign_xml(data.replace(b"<devices/>", b"<devices>&n;</devices>")).xml
    assert out is not None and b"<devices>&n;<" in out
    assert b'<controller type="pci" index="0" model="pci-root"/>' in out


def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.in.xml"))


@pytest.mark.parametrize("libvirt", ["9.0", "11.3"])
def test_text_write_back_equals_the_tree_on_every_fixture(libvirt: str) -> None:
    """The write-back's own text edits give exactly what comparing its tree gives."""
    compared = 0
    for path in _fixtures():
        data = path.read_bytes()
        doc = xmlio.parse_document(data, path.name)
        if not api.assign_tree(doc.tree, libvirt=libvirt).ok:
            continue
        compared += 1
        assert _as_text(data, libvirt=libvirt) == splice.write_document(doc), path.name
    assert compared > 50


def test_in_place_and_diff_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtaddr.cli import main

    path = tmp_path / "d.xml"
    path.write_bytes(MESSY)
    assert main(["assign", "--libvirt", "9.0", "--diff", str(path)]) == 0
    diff = capsys.readouterr().out
    assert path.read_bytes() == MESSY, "--diff writes nothing"
    assert '+    <controller type="pci" index="0" model="pci-root"/>\n' in diff
    assert "-    <controller model='piix3-uhci'   type='usb'>\n" in diff
    assert main(["assign", "--libvirt", "9.0", "--in-place", str(path)]) == 0
    assert path.read_bytes() == MESSY_AFTER
    assert main(["assign", "--libvirt", "9.0", "--diff", str(path)]) == 0
    assert capsys.readouterr().out == ""
