"""``check --libvirt 9.0,11.3`` (before a host upgrade) and the refusal of two versions by the
commands that reproduce one, through ``main(argv)``.

The expected differences are the two daemons' answers for each domain (``tests/versiondomains.py``,
recorded from the oracles); ``tests/oracle/test_check_versions.py`` asks the live daemons again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

import virtaddr
from versiondomains import (
    COLLISION,
    EMPTY_USB_CDROM,
    IMPLICIT_SCSI,
    IMPLICIT_SCSI_DIFFERENCES,
    KIOSK,
    KIOSK_DIFFERENCES,
    TWO_WATCHDOGS,
    address_numbers,
)
from virtaddr.cli import main

REPO = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = json.loads((REPO / "schemas" / "check-report.schema.json").read_text())


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _differences(lines: list[str]) -> dict[tuple[str, int | None], tuple[dict, dict]]:
    """The address warnings of ``check`` output: (device, line) → (first's, second's address)."""
    found = {}
    pattern = re.compile(
        r"[^:]+:(?:(\d+):)? warning: (.+?): (?:added by libvirt; )?libvirt \S+ gives "
        r"(<address[^>]*/>), "
        r"libvirt \S+ gives (<address[^>]*/>)$"
    )
    for line in lines:
        m = pattern.match(line)
        if m:
            where = int(m.group(1)) if m.group(1) else None
            found[(m.group(2), where)] = (address_numbers(m.group(3)), address_numbers(m.group(4)))
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [(KIOSK, KIOSK_DIFFERENCES), (IMPLICIT_SCSI, IMPLICIT_SCSI_DIFFERENCES)],
    ids=["usb-ports", "implicit-scsi"],
)
def test_each_address_that_differs_is_a_warning_naming_both(
    text: str, expected: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "guest.xml", text)
    assert main(["check", "--libvirt", "9.0,11.3", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert _differences(lines) == expected
    assert len(lines) == len(expected)
    assert all(line.startswith(f"{path}:") for line in lines)
    # in the other order, the other way round
    assert main(["check", "--libvirt", "11.3,9.0", str(path)]) == 0
    swapped = {key: (new, old) for key, (old, new) in expected.items()}
    assert _differences(capsys.readouterr().out.splitlines()) == swapped


def test_strict_makes_the_differences_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "kiosk.xml", KIOSK)
    assert main(["check", "--libvirt", "9.0,11.3", "--strict", str(path)]) == 1
    assert _differences(capsys.readouterr().out.splitlines()) == KIOSK_DIFFERENCES


def test_one_version_sees_no_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "kiosk.xml", KIOSK)
    for version in ("9.0", "11.3"):
        assert main(["check", "--libvirt", version, str(path)]) == 0
        assert "libvirt 9.0 gives" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "line", "device", "refusing", "accepting", "message"),
    [
        (EMPTY_USB_CDROM, 4, "disk sda", "11.3", "9.0", "'usb' disk must not be empty"),
        (
            TWO_WATCHDOGS,
            5,
            "watchdog itco #2",
            "9.0",
            "11.3",
            "only a single watchdog device is supported",
        ),
    ],
    ids=["11.3-rejects", "9.0-rejects"],
)
def test_a_domain_one_version_rejects_is_a_warning_in_its_words(
    text: str,
    line: int,
    device: str,
    refusing: str,
    accepting: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(tmp_path, "guest.xml", text)
    assert main(["check", "--libvirt", "9.0,11.3", str(path)]) == 0
    # libvirt's first refusal first (check goes on: 9.0 also knows no itco model)
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}:{line}: warning: {device}: libvirt {refusing} rejects the domain "
        f"(libvirt {accepting} accepts it): {message}"
    )
    assert main(["check", "--libvirt", "9.0,11.3", "--strict", str(path)]) == 1
    capsys.readouterr()
    assert main(["check", "--libvirt", refusing, str(path)]) == 1  # alone: an error
    assert main(["check", "--libvirt", accepting, str(path)]) == 0


def test_a_problem_both_versions_reject_stays_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "clash.xml", COLLISION)
    assert main(["check", "--libvirt", "9.0,11.3", str(path)]) == 1
    out = capsys.readouterr().out
    assert main(["check", "--libvirt", "9.0", str(path)]) == 1
    assert out == capsys.readouterr().out  # as today, once
    assert f"{path}:5: error: interface user #2: Attempted double use of PCI Address" in out


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kiosk = _write(tmp_path, "kiosk.xml", KIOSK)
    cdrom = _write(tmp_path, "cdrom.xml", EMPTY_USB_CDROM)
    assert main(["check", "--libvirt", "9.0,11.3", "--json", str(kiosk), str(cdrom)]) == 0
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["exit_status"] == 0
    first, second = report["files"]
    assert (first["errors"], first["warnings"]) == (0, 2)
    found = {
        (p["device"], p["line"]): tuple(
            address_numbers(a) for a in re.findall(r"<address[^>]*/>", p["message"])
        )
        for p in first["problems"]
    }
    assert found == KIOSK_DIFFERENCES
    assert {p["code"] for p in first["problems"]} == {"version-address"}
    assert [(p["code"], p["line"], p["device"]) for p in second["problems"]] == [
        ("version-refusal", 4, "disk sda")
    ]


def test_batch_and_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    guests = tmp_path / "guests"
    guests.mkdir()
    for name, text in [
        ("a-kiosk.xml", KIOSK),
        ("b-scsi.xml", IMPLICIT_SCSI),
        ("c-cdrom.xml", EMPTY_USB_CDROM),
        ("d-clash.xml", COLLISION),
    ]:
        _write(guests, name, text)
    assert main(["check", "--libvirt", "9.0,11.3", str(guests)]) == 1
    one = capsys.readouterr()
    assert main(["check", "--libvirt", "9.0,11.3", "-j", "2", str(guests)]) == 1
    two = capsys.readouterr()
    assert one.out == two.out
    names = [Path(line.split(":")[0]).name for line in one.out.splitlines()]
    assert names == sorted(names)  # each file's lines whole, in input order
    assert len(names) == 2 + 2 + 1 + 1
    assert "virtaddr check: 4 files: 3 ok, 1 with problems, 0 unusable" in two.err


@pytest.mark.parametrize("command", ["assign", "plan", "topology"])
def test_commands_of_one_version_refuse_two(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "kiosk.xml", KIOSK)
    extra = [str(path)] if command == "plan" else []
    assert main([command, "--libvirt", "9.0,11.3", str(path), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        f"{command} reproduces one libvirt version: pick one of 9.0, 11.3 "
        "(virtaddr check --libvirt 9.0,11.3 compares them)"
    ) in captured.err


@pytest.mark.parametrize("value", ["9.0,9.0", "9.0,11.3,9.0", "9.0,8.0", "9.0,"])
def test_check_takes_two_different_supported_versions(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "kiosk.xml", KIOSK)
    assert main(["check", "--libvirt", value, str(path)]) == 2
    err = capsys.readouterr().err
    assert "argument --libvirt" in err
    assert "Traceback" not in err


def test_library_check_takes_two_versions(tmp_path: Path) -> None:
    problems = virtaddr.check(KIOSK, source="kiosk.xml", libvirt=("9.0", "11.3"))
    assert {(p.device, p.line, p.code, p.severity) for p in problems} == {
        ("disk sda", 11, "version-address", "warning"),
        ("hostdev usb #1", 15, "version-address", "warning"),
    }
    path = _write(tmp_path, "kiosk.xml", KIOSK)
    assert virtaddr.check(path, libvirt=("9.0", "11.3")) == tuple(
        p.replace(source=str(path)) for p in problems
    )
    with pytest.raises(ValueError, match="one libvirt version or two"):
        virtaddr.check(KIOSK, libvirt=("9.0", "11.3", "9.0"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two different libvirt versions"):
        virtaddr.check(KIOSK, libvirt=("9.0", "9.0"))


@pytest.mark.parametrize(
    ("host", "line"),
    [
        ((10, 0, 0), "reproducing libvirt 9.0 (the newest supported not newer than it;"),
        ((8, 2, 0), "reproducing libvirt 9.0 (the oldest supported;"),
        ((12, 1, 0), "reproducing libvirt 11.3 (the newest supported not newer than it;"),
    ],
)
def test_a_host_of_another_version_says_which_rules(
    host: tuple[int, int, int], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from virtaddr.api import HypervisorProfile
    from virtaddr.commands import version_option

    profile = HypervisorProfile(name="h", libvirt_version=host)
    version_option.from_args(argparse.Namespace(libvirt=None), "assign", profile)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"the host runs libvirt {'.'.join(map(str, host))}; {line}" in err


def test_a_controller_libvirt_adds_is_named_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "scsi.xml", IMPLICIT_SCSI)
    assert main(["check", "--libvirt", "9.0,11.3", str(path)]) == 0
    (added,) = [line for line in capsys.readouterr().out.splitlines() if "scsi index 1" in line]
    assert added.startswith(f"{path}: warning: controller scsi index 1: added by libvirt; ")
