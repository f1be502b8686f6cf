"""``--connect`` and ``--verify`` against the live libvirt (the ``libvirt`` extra).

Skipped, with the reason, when libvirt-python is not installed or no libvirt answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from virtaddr.cli import main
from virtaddr.profile import builtin_profile

pytest.importorskip("libvirt", reason="libvirt-python not installed: pip install '.[libvirt]'")

from virtaddr import live

pytestmark = pytest.mark.oracle
URI = "qemu:///system"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_live_profile_matches_the_builtin_one() -> None:
    """The oracle is libvirt 9.0 + QEMU 7.2: what it reports is the built-in profile."""
    profile = live.read_profile(URI)
    for key, canonical in builtin_profile("9.0").aliases.items():
        assert profile.aliases[key] == canonical
    for key, models in builtin_profile("9.0").models.items():
        assert profile.models[key] == models


def test_connect_writes_the_versioned_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.xml"
    assert (
        main(
            [
                "assign",
                "--libvirt",
                "9.0",
                "--connect",
                URI,
                str(FIXTURES / "q35-typical.in.xml"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert capsys.readouterr().err == ""
    # libvirt's own answer for this input names the versioned machine
    assert "machine='pc-q35-7.2'" in (FIXTURES / "q35-typical.out.xml").read_text()
    assert "machine='pc-q35-7.2'" in out.read_text()  # the input's quotes


def test_verify_accepts_what_libvirt_keeps(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    names = ["pc-typical", "q35-typical", "q35-hostdevs"]
    inputs = [str(FIXTURES / f"{n}.in.xml") for n in names]
    assert (
        main(["assign", "--libvirt", "9.0", "--verify", "-j", "2", "--out-dir", str(out), *inputs])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.in.xml" for n in names)


def test_verify_reports_what_libvirt_changes() -> None:
    # No memballoon and an addressed disk: libvirt adds a memballoon with a PCI address
    # (it does so for every x86 guest), which our XML does not have.
    xml = (
        b"<domain type='qemu'><name>v</name><memory>65536</memory>"
        b"<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        b"<controller type='pci' index='0' model='pci-root'/>"
        b"<controller type='usb' index='0' model='none'/>"
        b"</devices></domain>"
    )
    differences = live.verify(URI, xml)
    assert [d.split(":")[0] for d in differences] == ["extra memballoon#0"]


def test_connect_to_nowhere_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "assign",
        "--connect",
        "test:///nonexistent/file.xml",
        str(FIXTURES / "pc-typical.in.xml"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("virtaddr assign: --connect: cannot connect to test:///nonexistent")
