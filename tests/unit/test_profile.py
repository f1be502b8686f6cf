"""Hypervisor profiles: parsing libvirt's capability XML, and ``--connect``/``--verify`` without
libvirt-python (they must say how to install it and exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from virtaddr.cli import main
from virtaddr.profile import (
    BUILTIN,
    builtin_profile,
    machine_aliases_from_capabilities,
    models_from_domain_capabilities,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

CAPABILITIES = """<capabilities><host/>
  <guest><os_type>hvm</os_type><arch name='x86_64'>
    <machine maxCpus='255'>pc-i440fx-6.0</machine>
    <machine canonical='pc-i440fx-6.0' maxCpus='255'>pc</machine>
    <machine canonical='pc-q35-6.0' maxCpus='288'>q35</machine>
    <domain type='qemu'/></arch></guest>
  <guest><os_type>hvm</os_type><arch name='aarch64'>
    <machine canonical='virt-6.0' maxCpus='512'>virt</machine></arch></guest>
</capabilities>"""

DOMCAPS = """<domainCapabilities><machine>pc-q35-6.0</machine><devices>
  <disk supported='yes'><enum name='bus'><value>sata</value><value>virtio</value></enum></disk>
  <video supported='yes'><enum name='modelType'><value>vga</value></enum></video>
  <tpm supported='no'><enum name='model'><value>tpm-tis</value></enum></tpm>
</devices></domainCapabilities>"""


def test_machine_aliases() -> None:
    assert machine_aliases_from_capabilities(CAPABILITIES) == {
        ("x86_64", "pc"): "pc-i440fx-6.0",
        ("x86_64", "q35"): "pc-q35-6.0",
        ("aarch64", "virt"): "virt-6.0",
    }


def test_domain_capabilities_models() -> None:
    assert models_from_domain_capabilities(DOMCAPS) == {
        "disk.bus": frozenset({"sata", "virtio"}),
        "video.modelType": frozenset({"vga"}),
        "tpm.model": frozenset(),  # supported='no': nothing offered
    }


def test_builtin_profile_of_libvirt_9_0_is_qemu_7_2() -> None:
    # libvirt 9.0 + QEMU 7.2 stores machine='pc' as pc-i440fx-7.2 (fixtures/pc-typical.out.xml)
    profile = builtin_profile("9.0")
    assert profile.name == "QEMU 7.2 (built-in)"
    assert profile.canonical_machine("x86_64", "pc") == "pc-i440fx-7.2"
    assert profile.canonical_machine("x86_64", "q35") == "pc-q35-7.2"
    assert profile.canonical_machine("x86_64", "pc-i440fx-2.1") == "pc-i440fx-2.1"
    assert "ide" in profile.models[("x86_64", "pc")]["disk.bus"]
    assert "ide" not in profile.models[("x86_64", "q35")]["disk.bus"]  # q35 has no IDE


def test_builtin_profile_of_libvirt_11_3_is_qemu_10_0_and_the_default() -> None:
    # libvirt 11.3 + QEMU 10.0 stores machine='pc' as pc-i440fx-10.0 (the 11.3 corpus)
    profile = builtin_profile("11.3")
    assert profile is BUILTIN is builtin_profile()
    assert profile.name == "QEMU 10.0 (built-in)"
    assert profile.canonical_machine("x86_64", "pc") == "pc-i440fx-10.0"
    assert profile.canonical_machine("i686", "q35") == "pc-q35-10.0"
    assert profile.models == builtin_profile("9.0").models  # the enums read are the same
    with pytest.raises(ValueError, match=r"supported: 9\.0, 11\.3"):
        builtin_profile("10.0")


@pytest.mark.parametrize("flags", [["--connect", "qemu:///system"], ["--verify"]])
def test_live_flags_without_libvirt_python(
    flags: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "libvirt", None)  # import libvirt now fails
    assert main(["assign", "--libvirt", "9.0", *flags, str(FIXTURES / "pc-typical.in.xml")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pip install 'virtaddr[libvirt]'" in captured.err
    assert "libvirt-dev pkg-config" in captured.err
    assert "Traceback" not in captured.err


def test_nothing_else_imports_libvirt() -> None:
    import subprocess

    code = (
        "import sys\n"
        "sys.modules['libvirt'] = None\n"
        "from virtaddr.cli import main\n"
        "from virtaddr import api, profile, compare, pytest_plugin\n"
        "from virtaddr.commands import assign, batch, live_options\n"
        f"assert main(['assign', {str(FIXTURES / 'pc-typical.in.xml')!r}]) == 0\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
