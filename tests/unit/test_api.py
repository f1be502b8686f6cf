"""The library's front doors: assign from text, bytes, a file, an lxml element.

Expected addresses are libvirt's recorded answers (``fixtures/NAME.out.xml``); rejected
fixtures (``NAME.err``) must come back as error problems with the device's line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from virtaddr import api
from virtaddr.compare import address_differences
from virtaddr.errors import UnusableInput
from virtaddr.profile import BUILTIN

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def libvirt_root(name: str) -> etree._Element:
    return etree.parse(str(FIXTURES / f"{name}.out.xml")).getroot()


@pytest.mark.parametrize("name", ["pc-typical", "q35-typical", "q35-hostdevs"])
def test_assign_xml_text_and_bytes(name: str) -> None:
    data = (FIXTURES / f"{name}.in.xml").read_bytes()
    from_bytes = api.assign_xml(data)
    from_text = api.assign_xml(data.decode("utf-8"))
    assert from_bytes.ok and from_text.ok
    assert isinstance(from_bytes.xml, bytes) and isinstance(from_text.xml, str)
    assert from_text.xml.encode("utf-8") == from_bytes.xml
    assert address_differences(libvirt_root(name), etree.fromstring(from_bytes.xml)) == []


def test_assign_file_leaves_the_file_alone() -> None:
    path = FIXTURES / "pc-usb-hub.in.xml"
    before = path.read_bytes()
    result = api.assign_file(path)
    assert path.read_bytes() == before
    assert result.xml is not None and result.problems == ()
    assert address_differences(libvirt_root("pc-usb-hub"), etree.fromstring(result.xml)) == []


def test_assign_element_returns_a_completed_copy() -> None:
    root = etree.parse(str(FIXTURES / "q35-typical.in.xml")).getroot()
    before = etree.tostring(root)
    result = api.assign_element(root)
    assert etree.tostring(root) == before
    assert result.xml is not None and result.xml is not root
    assert address_differences(libvirt_root("q35-typical"), result.xml) == []
    # a tree works as well as its root
    again = api.assign_element(root.getroottree())
    assert again.xml is not None
    assert etree.tostring(again.xml) == etree.tostring(result.xml)


def test_rejected_domain_gives_error_problems_and_no_xml() -> None:
    path = FIXTURES / "pc-reject-double-use.in.xml"
    libvirt_says = (FIXTURES / "pc-reject-double-use.err").read_text().strip()
    result = api.assign_file(path)
    assert result.xml is None and not result.ok
    assert result.problems
    problem = result.problems[0]
    assert problem.severity == "error"
    assert problem.source == str(path)
    assert problem.line == 8  # the <interface> holding 00:04.0 (hand-read from the file)
    assert problem.device and "interface" in problem.device
    assert libvirt_says.endswith(problem.message)
    same = api.assign_element(etree.parse(str(path)))
    assert same.xml is None and [p.message for p in same.problems] == [
        p.message for p in result.problems
    ]


@pytest.mark.parametrize("bad", [b"", b"<domain>", b"<network/>"])
def test_unusable_input_raises(bad: bytes) -> None:
    with pytest.raises(UnusableInput):
        api.assign_xml(bad)


def test_missing_file_raises_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="cannot read"):
        api.assign_file(tmp_path / "missing.xml")


def test_profile_rewrites_machine_alias_and_warns_of_missing_models() -> None:
    text = (FIXTURES / "pc-typical.in.xml").read_text()
    assert "machine='pc'" in text
    text = text.replace("<target dev='vda' bus='virtio'/>", "<target dev='vda' bus='xen'/>", 1)
    result = api.assign_xml(text, profile=BUILTIN)
    assert result.xml is not None
    # libvirt 9.0 + QEMU 7.2 stores pc as pc-i440fx-7.2 (fixtures/pc-typical.out.xml)
    assert "machine='pc-i440fx-7.2'" in (FIXTURES / "pc-typical.out.xml").read_text()
    assert 'machine="pc-i440fx-7.2"' in result.xml
    assert [(p.severity, p.device, p.code) for p in result.problems] == [
        ("warning", "disk", "hypervisor")
    ]
    assert "disk bus 'xen'" in result.problems[0].message
    assert result.ok
