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
from virtaddr.profile import builtin_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def libvirt_root(name: str) -> etree._Element:
    return etree.parse(str(FIXTURES / f"{name}.out.xml")).getroot()


@pytest.mark.parametrize("name", ["pc-typical", "q35-typical", "q35-hostdevs"])
def test_assign_xml_text_and_bytes(name: str) -> None:
    data = (FIXTURES / f"{name}.in.xml").read_bytes()
    from_bytes = api.assign_xml(data, libvirt="9.0")
    from_text = api.assign_xml(data.decode("utf-8"), libvirt="9.0")
    assert from_bytes.ok and from_text.ok
    assert isinstance(from_bytes.xml, bytes) and isinstance(from_text.xml, str)
    assert from_text.xml.encode("utf-8") == from_bytes.xml
    assert address_differences(libvirt_root(name), etree.fromstring(from_bytes.xml)) == []


def test_assign_file_leaves_the_file_alone() -> None:
    path = FIXTURES / "pc-usb-hub.in.xml"
    before = path.read_bytes()
    result = api.assign_file(path, libvirt="9.0")
    assert path.read_bytes() == before
    assert result.xml is not None and result.problems == ()
    assert address_differences(libvirt_root("pc-usb-hub"), etree.fromstring(result.xml)) == []


def test_assign_element_returns_a_completed_copy() -> None:
    root = etree.parse(str(FIXTURES / "q35-typical.in.xml")).getroot()
    before = etree.tostring(root)
    result = api.assign_element(root, libvirt="9.0")
    assert etree.tostring(root) == before
    assert result.xml is not None and result.xml is not root
    assert address_differences(libvirt_root("q35-typical"), result.xml) == []
    # a tree works as well as its root
    again = api.assign_element(root.getroottree(), libvirt="9.0")
    assert again.xml is not None
    assert etree.tostring(again.xml) == etree.tostring(result.xml)


def test_rejected_domain_gives_error_problems_and_no_xml() -> None:
    path = FIXTURES / "pc-reject-double-use.in.xml"
    libvirt_says = (FIXTURES / "pc-reject-double-use.err").read_text().strip()
    result = api.assign_file(path, libvirt="9.0")
    assert result.xml is None and not result.ok
    assert result.problems
    problem = result.problems[0]
    assert problem.severity == "error"
    assert problem.source == str(path)
    assert problem.line == 8  # the <interface> holding 00:04.0 (hand-read from the file)
    assert problem.device and "interface" in problem.device
    assert libvirt_says.endswith(problem.message)
    same = api.assign_element(etree.parse(str(path)), libvirt="9.0")
    assert same.xml is None and [p.message for p in same.problems] == [
        p.message for p in result.problems
    ]


@pytest.mark.parametrize("bad", [b"", b"<domain>", b"<network/>"])
def test_unusable_input_raises(bad: bytes) -> None:
    with pytest.raises(UnusableInput):
        api.assign_xml(bad, libvirt="9.0")


def test_missing_file_raises_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="cannot read"):
        api.assign_file(tmp_path / "missing.xml", libvirt="9.0")


def test_profile_rewrites_machine_alias_and_warns_of_missing_models() -> None:
    text = (FIXTURES / "pc-typical.in.xml").read_text()
    assert "machine='pc'" in text
    text = text.replace("<target dev='vda' bus='virtio'/>", "<target dev='vda' bus='xen'/>", 1)
    result = api.assign_xml(text, profile=builtin_profile("9.0"), libvirt="9.0")
    assert result.xml is not None
    # libvirt 9.0 + QEMU 7.2 stores pc as pc-i440fx-7.2 (fixtures/pc-typical.out.xml)
    assert "machine='pc-i440fx-7.2'" in (FIXTURES / "pc-typical.out.xml").read_text()
    assert "machine='pc-i440fx-7.2'" in result.xml
    assert [(p.severity, p.device, p.code) for p in result.problems] == [
        ("warning", "disk", "hypervisor")
    ]
    assert "disk bus 'xen'" in result.problems[0].message
    assert result.ok


# ---------------------------------------------------------------------------- check and plan

PLAN = FIXTURES / "plan"


def test_check_reports_what_libvirt_rejects_in_every_form() -> None:
    path = FIXTURES / "pc-reject-double-use.in.xml"
    libvirt_says = (FIXTURES / "pc-reject-double-use.err").read_text().strip()
    problems = api.check(path, libvirt="9.0")
    errors = [p for p in problems if p.is_error]
    assert errors and errors[0].line == 8  # the second user of 00:04.0 (hand-read)
    assert errors[0].source == str(path)
    # check's message starts with libvirt's, then names the device already there
    assert errors[0].message.startswith(libvirt_says.split(": ", 1)[1])
    data = path.read_bytes()
    root = etree.fromstring(data)
    before = etree.tostring(root)
    for other in (
        api.check(data, source=str(path), libvirt="9.0"),
        api.check(data.decode(), source=str(path), libvirt="9.0"),
    ):
        assert other == problems
    assert [p.message for p in api.check(root, libvirt="9.0")] == [p.message for p in problems]
    assert etree.tostring(root) == before


def test_check_finds_no_error_in_what_libvirt_accepts() -> None:
    for name in ("pc-typical", "q35-typical", "q35-hostdevs"):
        problems = api.check(FIXTURES / f"{name}.in.xml", libvirt="9.0")
        assert [p for p in problems if p.is_error] == [], name


def _case(name: str) -> tuple[Path, list[Path]]:
    case = PLAN / name
    devices = sorted(case.glob("device-*.xml"), key=lambda p: int(p.stem.split("-")[1]))
    return case / "domain.xml", devices


def test_plan_attaches_as_libvirt_does_in_every_form() -> None:
    domain, devices = _case("q35-two-disks")
    expected = etree.parse(str(PLAN / "q35-two-disks" / "libvirt.xml")).getroot()
    from_path = api.plan(domain, devices, libvirt="9.0")
    assert from_path.ok and isinstance(from_path.xml, bytes)
    assert address_differences(expected, etree.fromstring(from_path.xml)) == []
    texts = [d.read_text() for d in devices]
    from_text = api.plan(domain.read_text(), texts, libvirt="9.0")
    assert isinstance(from_text.xml, str)
    assert from_text.xml.encode() == from_path.xml
    root = etree.parse(str(domain)).getroot()
    before = etree.tostring(root)
    from_element = api.plan(root, [etree.fromstring(t) for t in texts], libvirt="9.0")
    assert from_element.xml is not None and etree.tostring(root) == before
    assert address_differences(expected, from_element.xml) == []


def test_plan_detach() -> None:
    domain, devices = _case("q35-detach-then-reuse")
    expected = etree.parse(str(PLAN / "q35-detach-then-reuse" / "libvirt.xml")).getroot()
    result = api.plan(domain, devices, detach=True, libvirt="9.0")
    assert result.xml is not None
    assert address_differences(expected, etree.fromstring(result.xml)) == []


def test_plan_refused_gives_libvirts_reason_and_no_xml() -> None:
    domain, devices = _case("q35-full-root-complex")
    libvirt_says = (PLAN / "q35-full-root-complex" / "libvirt.err").read_text().strip()
    result = api.plan(domain, devices, libvirt="9.0")
    assert result.xml is None and not result.ok
    [problem] = result.problems
    assert problem.is_error and libvirt_says.endswith(problem.message)  # less "internal error: "
    assert problem.source in {str(d) for d in devices}  # names the device file refused


@pytest.mark.parametrize("device", ["<domain/>", "not xml", b""])
def test_plan_unusable_device_raises(device: str | bytes) -> None:
    domain, _ = _case("q35-two-disks")
    with pytest.raises(UnusableInput):
        api.plan(domain, [device], libvirt="9.0")
