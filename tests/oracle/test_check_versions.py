"""``check --libvirt 9.0,11.3`` against both live daemons: the devices it warns about, and their
two addresses, are those whose addresses differ between libvirt 9.0's and 11.3's own answers
(``libvirt-assign`` and ``libvirt-assign --libvirt 11.3``, compared by ``compare-addresses
--json --controller-details``); a domain one daemon rejects is a warning in that one's words."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from versiondomains import EMPTY_USB_CDROM, IMPLICIT_SCSI, KIOSK, TWO_WATCHDOGS, address_numbers
from virtaddr.cli import main

pytestmark = pytest.mark.oracle


def _assign(oracle: Path, version: str, path: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(oracle / "libvirt-assign"), "--libvirt", version, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 2:
        pytest.skip(f"libvirt {version} oracle unusable: {proc.stderr.strip()}")
    return proc


def _numbers(address: dict[str, object]) -> tuple[tuple[str, object], ...]:
    """An address comparable across both forms (absent and 0 alike, keys in order)."""
    return tuple(sorted((k, v) for k, v in address.items() if v != 0 or k == "bus"))


@pytest.mark.parametrize("text", [KIOSK, IMPLICIT_SCSI], ids=["usb-ports", "implicit-scsi"])
def test_the_warnings_are_the_daemons_differences(
    text: str, oracle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = tmp_path / "guest.xml"
    guest.write_text(text)
    answers = []
    for version in ("9.0", "11.3"):
        proc = _assign(oracle, version, guest)
        assert proc.returncode == 0, proc.stderr
        answer = tmp_path / f"libvirt-{version}.xml"
        answer.write_text(proc.stdout)
        answers.append(answer)
    compared = subprocess.run(
        [str(oracle / "compare-addresses"), "--json", "--controller-details", *map(str, answers)],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = json.loads(compared.stdout)["rows"]
    expected = sorted(
        (repr(_numbers(row["expected"])), repr(_numbers(row["actual"])))
        for row in rows
        if row["status"] != "match"
    )
    assert expected  # a domain where the versions differ
    assert main(["check", "--libvirt", "9.0,11.3", "--json", str(guest)]) == 0
    problems = json.loads(capsys.readouterr().out)["files"][0]["problems"]
    found = sorted(
        tuple(
            repr(_numbers(address_numbers(a))) for a in re.findall(r"<address[^>]*/>", p["message"])
        )
        for p in problems
    )
    assert found == expected


@pytest.mark.parametrize("text", [EMPTY_USB_CDROM, TWO_WATCHDOGS], ids=["cdrom", "watchdogs"])
def test_a_refusal_is_the_refusing_daemons(
    text: str, oracle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = tmp_path / "guest.xml"
    guest.write_text(text)
    verdicts = {version: _assign(oracle, version, guest) for version in ("9.0", "11.3")}
    refusing = [v for v, proc in verdicts.items() if proc.returncode != 0]
    assert len(refusing) == 1
    libvirt_message = verdicts[refusing[0]].stderr.strip().split(": ", 1)[1]
    assert main(["check", "--libvirt", "9.0,11.3", str(guest)]) == 0
    out = capsys.readouterr().out
    assert f"libvirt {refusing[0]} rejects the domain" in out
    # libvirt's words, without its error class ("unsupported configuration: ..."): libvirt stops
    # at its first problem, which check reports first
    assert out.splitlines()[0].split("accepts it): ", 1)[1] in libvirt_message


@pytest.mark.corpus
@pytest.mark.slow
def test_the_generated_set_warns_where_the_daemons_differ(
    oracle: Path, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 277 realistic random domains of ``libvirt-11.3/generated`` (11.3's answers stored):
    libvirt 9.0's answers asked live, compared with 11.3's by ``compare-addresses``; ``check
    --libvirt 9.0,11.3`` warns, per case, of the same address pairs (34 cases, 82 devices when
    this was written)."""
    generated = corpus / "libvirt-11.3" / "generated"
    answers = tmp_path / "libvirt-9.0"
    proc = subprocess.run(
        [str(oracle / "libvirt-assign"), "--out", str(answers), str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr  # 9.0 accepts every one
    script = str(oracle / "compare-addresses")
    compared = subprocess.run(
        [script, "--json", "--controller-details", str(generated), str(answers)],
        capture_output=True,
        text=True,
        check=False,
    )
    expected = {
        name: sorted(
            tuple(repr(_numbers(row[side])) for side in ("actual", "expected") if row.get(side))
            for row in case["problems"]
        )
        for name, case in json.loads(compared.stdout)["cases"].items()
        if case["problems"]
    }
    assert expected
    assert main(["check", "--libvirt", "9.0,11.3", "--json", "-j", "2", str(generated)]) == 0
    found = {}
    for entry in json.loads(capsys.readouterr().out)["files"]:
        pairs = sorted(
            tuple(
                repr(_numbers(address_numbers(a)))
                for a in re.findall(r"<address[^>]*/>", p["message"])
            )
            for p in entry["problems"]
            if p["code"] == "version-address"
        )
        if pairs:
            found[Path(entry["file"]).parent.name] = pairs
    assert found == expected
