"""The pytest plugin (entry point ``pytest11``), used here the way a test suite would use it.

Expected addresses are libvirt's recorded answers in ``fixtures/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from virtaddr.pytest_plugin import assert_same_addresses, assigned_domain

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.virtaddr_domain("../../fixtures/q35-typical.in.xml")
def test_marker_fixture_gives_the_assigned_domain(virtaddr_domain: etree._Element) -> None:
    assert virtaddr_domain.tag == "domain"
    assert_same_addresses(FIXTURES / "q35-typical.out.xml", virtaddr_domain)


def test_assign_fixture_on_xml_built_in_python(virtaddr_assign, virtaddr_same_addresses) -> None:  # type: ignore[no-untyped-def]
    # what avocado-vt style code does: build the XML in Python, then check its addresses
    root = etree.parse(str(FIXTURES / "pc-typical.in.xml")).getroot()
    built = etree.tostring(root, encoding="unicode")
    virtaddr_same_addresses(FIXTURES / "pc-typical.out.xml", virtaddr_assign(built))
    virtaddr_same_addresses(FIXTURES / "pc-typical.out.xml", virtaddr_assign(root))


def test_different_addresses_fail_with_each_difference() -> None:
    ours = assigned_domain(FIXTURES / "pc-typical.in.xml")
    disk_address = ours.find("devices/disk/address")
    assert disk_address is not None
    disk_address.set("slot", "0x1f")
    with pytest.raises(AssertionError, match=r"different disk vda: .*'slot': 31"):
        assert_same_addresses(FIXTURES / "pc-typical.out.xml", ours)


def test_rejected_domain_fails_the_test_with_libvirts_reason() -> None:
    libvirt_says = (FIXTURES / "pc-reject-double-use.err").read_text().strip()
    message = libvirt_says.removeprefix("XML error: ")
    with pytest.raises(pytest.fail.Exception, match=message):
        assigned_domain(FIXTURES / "pc-reject-double-use.in.xml")


def test_unusable_domain_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="unusable domain"):
        assigned_domain("<network/>")


def test_plugin_is_registered_and_loads_no_lxml(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import virtaddr.pytest_plugin\n"
        "heavy = [m for m in ('lxml', 'virtaddr.api', 'virtaddr.passes') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from importlib.metadata import entry_points\n"
        "names = {e.value for e in entry_points(group='pytest11')}\n"
        "assert 'virtaddr.pytest_plugin' in names, names\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_plugin_in_a_foreign_test_suite(tmp_path: Path) -> None:
    """A test file elsewhere gets the fixtures through the entry point alone."""
    (tmp_path / "guest.xml").write_bytes((FIXTURES / "q35-typical.in.xml").read_bytes())
    (tmp_path / "libvirt.xml").write_bytes((FIXTURES / "q35-typical.out.xml").read_bytes())
    (tmp_path / "test_guest.py").write_text(
        "import pathlib, pytest\n"
        "HERE = pathlib.Path(__file__).parent\n"
        "@pytest.mark.virtaddr_domain('guest.xml')\n"
        "def test_same(virtaddr_domain, virtaddr_same_addresses):\n"
        "    virtaddr_same_addresses(HERE / 'libvirt.xml', virtaddr_domain)\n"
        "@pytest.mark.virtaddr_domain('guest.xml')\n"
        "def test_differs(virtaddr_domain, virtaddr_same_addresses):\n"
        "    virtaddr_domain.find('devices/controller/address').set('slot', '0x1e')\n"
        "    virtaddr_same_addresses(HERE / 'libvirt.xml', virtaddr_domain)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "the domains' addresses differ" in proc.stdout
