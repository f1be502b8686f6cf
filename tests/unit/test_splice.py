"""The splice writer and ``assign --in-place`` / ``--diff`` on hand-written documents.

Expected texts are written by hand: every byte of the input stays, new text goes in between; an
attribute added to a tag takes that tag's quotes, a new element the document's usual quotes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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


def _splice(data: bytes) -> bytes:
    from virtaddr import api
    from virtaddr.xmldoc import splice, xmlio

    doc = xmlio.parse_document(data, "t.xml")
    assert api.assign_tree(doc.tree, libvirt="9.0").ok
    return splice.splice_document(doc, data)


def test_messy_document_keeps_every_byte() -> None:
    assert _splice(MESSY) == MESSY_AFTER


def test_crlf_document_gets_crlf_lines() -> None:
    data = MESSY.replace(b"\n", b"\r\n")
    assert _splice(data) == MESSY_AFTER.replace(b"\n", b"\r\n")


def test_numbers_spelled_by_the_user_stay() -> None:
    data = MESSY.replace(
        b'trustGuestRxFilters="no"/>',
        b"trustGuestRxFilters=\"no\">\n      <address type='pci' slot='5'/>\n    </interface>",
    )
    out = _splice(data)
    assert b"<address type='pci' domain='0x0000' bus='0x00' slot='5' function='0x0'/>" in out


def test_second_splice_changes_nothing() -> None:
    once = _splice(MESSY)
    assert _splice(once) == once


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
