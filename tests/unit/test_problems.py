"""Problems are values made complete where they are found, and one type from the pipeline to the
API; the decisions libvirt makes about a device are typed slots of :class:`Device`."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from virtaddr import api
from virtaddr.errors import AddressError
from virtaddr.hotplug.plan import attach_devices, parse_device
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.problems import ERROR, WARNING, Problem, Related
from virtaddr.passes.pipeline import run_pipeline

DOMAIN = """<domain type='qemu'>
  <name>d</name>
  <memory>65536</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='user'>
      <address type='pci' domain='0' bus='0' slot='3' function='0'/>
    </interface>
    <interface type='user'>
      <address type='pci' domain='0' bus='0' slot='3' function='0'/>
    </interface>
  </devices>
</domain>
"""

GOOD = re.sub(r"\s*<address[^>]*/>", "", DOMAIN)


def _tree(text: str) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(text.encode()))


# ---------------------------------------------------------------------------- the value


def test_problem_is_an_immutable_value() -> None:
    p = Problem(ERROR, "m", line=3, device="disk vda", source="d.xml")
    assert p == Problem("error", "m", 3, "disk vda", "d.xml")
    assert hash(p) == hash(Problem("error", "m", 3, "disk vda", "d.xml"))
    assert p != p.replace(line=4) and p.replace(line=4).line == 4 and p.line == 3
    assert {p, p.replace(code="libvirt")} == {p}
    with pytest.raises(AttributeError):
        p.line = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.replace(colour="red")
    assert repr(p) == (
        "Problem(severity='error', message='m', line=3, device='disk vda', source='d.xml', "
        "path=None, code='libvirt', related=())"
    )
    assert p.format() == "d.xml:3: error: disk vda: m"
    assert Problem(WARNING, "w").format() == "<input>: warning: w"
    related = Problem(ERROR, "m", line=3, related=(Related(7, "disk vdb"),))
    assert related.lines == {3, 7} and related.as_json()["related"] == [
        {"line": 7, "device": "disk vdb"}
    ]


def test_problem_and_address_error_carry_the_same_fields() -> None:
    p = Problem(ERROR, "m", line=3, device="disk vda", source="d.xml", path="/domain")
    error = p.as_error()
    assert isinstance(error, AddressError)
    assert str(error) == "d.xml:3: disk vda: m"
    assert Problem.from_error(error) == p


def test_the_problem_module_loads_no_dataclasses() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import virtaddr.libvirt.problems, virtaddr.passes.result; "
        "print('dataclasses' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.stdout.strip() == "False", run.stdout + run.stderr


# ---------------------------------------------------------------------------- made where found


def test_pipeline_problems_are_complete_and_of_the_api_type() -> None:
    result = run_pipeline(_tree(DOMAIN), source="d.xml")
    assert not result.ok
    [problem] = result.problems
    assert isinstance(problem, Problem)
    assert (problem.severity, problem.source, problem.line) == (ERROR, "d.xml", 9)
    assert problem.device == "interface user #2"
    assert problem.message.startswith("Attempted double use of PCI Address 0000:00:03.0")
    # the commands' exceptions, made from the same problems
    assert [str(e) for e in result.errors] == [str(problem.as_error())]


def test_api_hands_out_the_pipeline_problems() -> None:
    assigned = api.assign_xml(DOMAIN, source="d.xml")
    assert assigned.xml is None
    assert assigned.problems == tuple(run_pipeline(_tree(DOMAIN), source="d.xml").problems)


def test_a_problem_of_the_domain_itself_names_its_source() -> None:
    text = DOMAIN.replace("<domain type='qemu'>", "<domain>")
    [problem] = run_pipeline(_tree(text), source="d.xml").problems
    assert (problem.message, problem.source, problem.line, problem.device) == (
        "missing domain type attribute",
        "d.xml",
        1,
        None,
    )


def test_attach_problems_point_into_the_device_file() -> None:
    text = b"\n\n<interface type='user'>\n  <address type='pci' slot='0x40'/>\n</interface>\n"
    device = parse_device(text, "nic.xml")
    [problem] = attach_devices(_tree(GOOD), [device], source="d.xml").problems
    assert (problem.source, problem.line) == ("nic.xml", 3)
    assert problem.message == "Invalid PCI address slot='0x40', must be <= 0x1F"


def test_attach_problems_of_the_modified_domain_have_no_line() -> None:
    # the stored domain already has a device at 00:03.0: the re-run stages find the clash
    # in a tree that is neither file as written
    text = b"<interface type='user'><address type='pci' slot='3'/></interface>"
    device = parse_device(text, "nic.xml")
    [problem] = attach_devices(_tree(GOOD), [device], source="d.xml").problems
    assert (problem.source, problem.line) == ("nic.xml", None)
    assert "Attempted double use of PCI Address 0000:00:03.0" in problem.message


# ---------------------------------------------------------------------------- decisions

_DECISIONS = (
    "index",
    "index_dirty",
    "model",
    "model_dirty",
    "bus",
    "pci_flags",
    "model_name",
    "filled_target",
    "zpci_ids",
)


def test_every_decision_is_a_documented_slot() -> None:
    assert not hasattr(Device("disk"), "__dict__")
    doc = Device.__doc__ or ""
    for name in _DECISIONS:
        assert name in Device.__slots__
        assert f"``{name}``" in doc, f"Device's docstring does not say why {name} is there"


def test_decisions_start_undecided() -> None:
    d = Device("controller")
    assert (d.index, d.model, d.bus, d.model_name, d.filled_target, d.zpci_ids) == (None,) * 6
    assert (d.pci_flags, d.index_dirty, d.model_dirty) == (0, False, False)
