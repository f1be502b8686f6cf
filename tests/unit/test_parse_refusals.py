"""Missing or unknown mandatory parts (``fixtures/*reject-parse*``, ``*reject-no-*``) through
``check``, and the device readers and the reporting helper every command shares.

The expected messages are the live libvirt's, recorded in the fixtures' ``.err`` files by
``tests/oracle/record_fixtures.py``; ``assign`` is held to them by ``tests/test_fixtures.py`` and
``plan`` by ``tests/test_plan_fixtures.py`` (``fixtures/plan/*refuse*``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from virtaddr import api
from virtaddr.cli import main
from virtaddr.commands.common import report_failure
from virtaddr.errors import Exhausted, UnusableInput

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parity import FIXTURES_DIR, libvirt_text

REFUSED = sorted(
    p.name[: -len(".err")]
    for pattern in ("*reject-parse-*.err", "*reject-no-*.err")
    for p in FIXTURES_DIR.glob(pattern)
)


def test_there_are_parse_refusal_fixtures() -> None:
    assert len(REFUSED) >= 20, REFUSED


@pytest.mark.parametrize("name", REFUSED)
def test_check_reports_libvirts_refusal(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    message = libvirt_text((FIXTURES_DIR / f"{name}.err").read_text())
    code = main(["check", "--libvirt", "9.0", str(FIXTURES_DIR / f"{name}.in.xml")])
    out = capsys.readouterr()
    assert code == 1, out
    assert "Traceback" not in out.err
    assert any(message in line and ": error: " in line for line in out.out.splitlines()), out.out


def test_controller_without_type_is_ide(tmp_path: Path) -> None:
    """libvirt stores ``type='ide'`` (fixtures/pc-controller-no-type.out.xml)."""
    out = tmp_path / "out.xml"
    argv = ["assign", "--libvirt", "9.0", str(FIXTURES_DIR / "pc-controller-no-type.in.xml")]
    assert main([*argv, "-o", str(out)]) == 0
    assert "<controller index='0' type='ide'>" in out.read_text()


# ---------------------------------------------------------------------------- device files

DOMAIN = (
    "<domain type='qemu'><name>d</name><memory>65536</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "empty input: expected a device element such as <disk>"),
        (b"\xef\xbb\xbf \n", "empty input: expected a device element such as <disk>"),
        (b"<disk>", "not well-formed XML"),
        (
            b'<!DOCTYPE disk [<!ENTITY x SYSTEM "file:///etc/passwd">]><disk>&x;</disk>',
            "external entity 'x' refused",
        ),
        (b"<domain/>", "the root element is <domain>, not a device element"),
    ],
)
def test_unusable_device_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    """The CLI and the library read a DEVICE file the same way (one reader): exit 2."""
    dom, dev = tmp_path / "domain.xml", tmp_path / "device.xml"
    dom.write_text(DOMAIN)
    if content is not None:
        dev.write_bytes(content)
    assert main(["plan", "--libvirt", "9.0", str(dom), str(dev)]) == 2
    err = capsys.readouterr().err
    assert f"{dev}" in err and message in err, err
    with pytest.raises(UnusableInput, match=message) as raised:
        api.plan(DOMAIN, [dev], libvirt="9.0")
    assert raised.value.source == str(dev)


def test_report_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """A DomainError keeps its exit status; an allocator error escaping a pass counts as 1."""
    assert report_failure(UnusableInput("not XML", line=3), "a.xml") == 2
    assert report_failure(Exhausted("no free slot"), "-") == 1
    assert capsys.readouterr().err.splitlines() == ["a.xml:3: not XML", "<stdin>: no free slot"]
