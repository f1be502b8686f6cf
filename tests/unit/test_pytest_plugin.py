"""The pytest plugin (entry point ``pytest11``), used here the way a test suite would use it.

Expected addresses are libvirt 9.0's recorded answers in ``fixtures/``; the version tests use
rule 1 of the 11.3 differences (an implicit SCSI controller), where 9.0 and 11.3 differ.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from virtaddr.pytest_plugin import assert_same_addresses, assigned_domain

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.virtaddr_domain("../../fixtures/q35-typical.in.xml", libvirt="9.0")
def test_marker_fixture_gives_the_assigned_domain(virtaddr_domain: etree._Element) -> None:
    assert virtaddr_domain.tag == "domain"
    assert_same_addresses(FIXTURES / "q35-typical.out.xml", virtaddr_domain)


def test_assign_fixture_on_xml_built_in_python(virtaddr_assign, virtaddr_same_addresses) -> None:  # type: ignore[no-untyped-def]
    # what avocado-vt style code does: build the XML in Python, then check its addresses
    root = etree.parse(str(FIXTURES / "pc-typical.in.xml")).getroot()
    built = etree.tostring(root, encoding="unicode")
    virtaddr_same_addresses(FIXTURES / "pc-typical.out.xml", virtaddr_assign(built, libvirt="9.0"))
    virtaddr_same_addresses(FIXTURES / "pc-typical.out.xml", virtaddr_assign(root, libvirt="9.0"))


def test_different_addresses_fail_with_each_difference() -> None:
    ours = assigned_domain(FIXTURES / "pc-typical.in.xml", libvirt="9.0")
    disk_address = ours.find("devices/disk/address")
    assert disk_address is not None
    disk_address.set("slot", "0x1f")
    with pytest.raises(AssertionError, match=r"different disk vda: .*'slot': 31"):
        assert_same_addresses(FIXTURES / "pc-typical.out.xml", ours)


def test_rejected_domain_fails_the_test_with_libvirts_reason() -> None:
    libvirt_says = (FIXTURES / "pc-reject-double-use.err").read_text().strip()
    message = libvirt_says.removeprefix("XML error: ")
    with pytest.raises(pytest.fail.Exception, match=message):
        assigned_domain(FIXTURES / "pc-reject-double-use.in.xml", libvirt="9.0")


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
    proc = _pytest(tmp_path, "--virtaddr-libvirt=9.0")
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "the domains' addresses differ" in proc.stdout


# A disk names SCSI controller 1, which libvirt adds: 9.0 appends it (00:04.0, after
# virtio-serial 0 at 00:03.0), 11.3 inserts it after scsi 0 (00:03.0; virtio-serial 00:04.0).
SCSI1 = """<domain type='qemu'><name>p</name><memory>131072</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='scsi' index='0'/>
    <controller type='virtio-serial' index='0'/>
    <disk type='file' device='disk'><source file='/tmp/a.img'/><target dev='sdb' bus='scsi'/>
      <address type='drive' controller='1' bus='0' target='0' unit='0'/></disk>
    <memballoon model='none'/></devices></domain>"""
SCSI1_SLOT = {"9.0": "0x04", "11.3": "0x03"}


def _scsi1_slot(root: etree._Element) -> str | None:
    for c in root.iterfind("devices/controller[@type='scsi']"):
        if c.get("index") == "1":
            return c.find("address").get("slot")  # type: ignore[union-attr]
    return None


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_assigned_domain_follows_the_libvirt_version(version: str) -> None:
    assert _scsi1_slot(assigned_domain(SCSI1, libvirt=version)) == SCSI1_SLOT[version]
    assert _scsi1_slot(assigned_domain(SCSI1)) == SCSI1_SLOT["11.3"]  # the newest by default
    with pytest.raises(pytest.fail.Exception, match=r"unsupported libvirt version '8\.0'"):
        assigned_domain(SCSI1, libvirt="8.0")


def test_version_precedence_argument_marker_option(tmp_path: Path) -> None:
    (tmp_path / "guest.xml").write_text(SCSI1)
    (tmp_path / "test_versions.py").write_text(
        "import pathlib, pytest\n"
        "HERE = pathlib.Path(__file__).parent\n"
        "def slot(root):\n"
        "    c = root.find(\"devices/controller[@type='scsi'][@index='1']\")\n"
        "    return c.find('address').get('slot')\n"
        "def test_option(virtaddr_assign):\n"
        "    assert slot(virtaddr_assign(HERE / 'guest.xml')) == '0x04'\n"
        "@pytest.mark.virtaddr_domain('guest.xml', libvirt='11.3')\n"
        "def test_marker(virtaddr_domain, virtaddr_assign):\n"
        "    assert slot(virtaddr_domain) == '0x03'\n"
        "    assert slot(virtaddr_assign(HERE / 'guest.xml')) == '0x03'\n"
        "@pytest.mark.virtaddr_domain('guest.xml', libvirt='11.3')\n"
        "def test_argument(virtaddr_assign):\n"
        "    assert slot(virtaddr_assign(HERE / 'guest.xml', libvirt='9.0')) == '0x04'\n"
    )
    proc = _pytest(tmp_path, "--virtaddr-libvirt=9.0")
    assert "3 passed" in proc.stdout, proc.stdout + proc.stderr
    proc = _pytest(tmp_path, "--virtaddr-libvirt=8.0")
    assert proc.returncode != 0
    assert "--virtaddr-libvirt: unsupported libvirt version '8.0'" in proc.stderr


def _pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(directory)],
        capture_output=True,
        text=True,
        cwd=directory,
        check=False,
    )
