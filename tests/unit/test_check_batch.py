"""``virtaddr check`` over many files and directories, with ``-j N``, through ``main(argv)``.

The verdicts per file are reasoned by hand: a clean pc domain, two NICs on 00:03.0 (libvirt
rejects the second), and a file that is not XML.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from virtaddr.cli import main

REPO = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = json.loads((REPO / "schemas" / "check-report.schema.json").read_text())


def domain(devices: str) -> str:
    return (
        "<domain type='qemu'>\n  <name>t</name>\n  <memory>219136</memory>\n"
        "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
        f"  <devices>\n{devices}  </devices>\n</domain>\n"
    )


def nic(slot: int) -> str:
    return (
        "    <interface type='user'><model type='e1000'/>"
        f"<address type='pci' domain='0x0000' bus='0x00' slot='{slot:#04x}' function='0x0'/>"
        "</interface>\n"
    )


CLEAN, BROKEN = domain(nic(3)), domain(nic(3) + nic(3))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``dir/a.xml`` (clean), ``dir/b/input.xml`` (corpus layout, broken), ``dir/c.xml`` (junk)."""
    root = tmp_path / "dir"
    (root / "b").mkdir(parents=True)
    (root / "a.xml").write_text(CLEAN)
    (root / "b" / "input.xml").write_text(BROKEN)
    (root / "c.xml").write_text("not xml at all")
    (root / "ignored.txt").write_text(BROKEN)
    return root


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_directory_is_its_files_and_the_status_the_highest(
    tree: Path, jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--libvirt", "9.0", "-j", jobs, "--no-progress", str(tree)]) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # input order: a.xml (nothing), b/input.xml (one error), c.xml (unusable)
    assert [line.split(":")[0] for line in lines] == [
        str(tree / "b" / "input.xml"),
        str(tree / "c.xml"),
    ]
    assert ": error: interface user #2: " in lines[0]
    assert err.strip().splitlines()[-1] == (
        "virtaddr check: 3 files: 1 ok, 1 with problems, 1 unusable"
    )
    assert (
        main(["check", "--libvirt", "9.0", "-j", jobs, str(tree / "a.xml"), str(tree / "b")]) == 1
    )


def test_json_over_a_directory_in_parallel(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--libvirt", "9.0", "--json", "-j", "2", str(tree)]) == 2
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["exit_status"] == 2
    assert [(f["file"], f["exit_status"], f["errors"]) for f in report["files"]] == [
        (str(tree / "a.xml"), 0, 0),
        (str(tree / "b" / "input.xml"), 1, 1),
        (str(tree / "c.xml"), 2, 1),
    ]


def test_one_file_prints_no_summary(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--libvirt", "9.0", str(tree / "a.xml")]) == 0
    assert "files:" not in capsys.readouterr().err


def test_a_directory_without_domains_is_unusable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--libvirt", "9.0", str(tmp_path)]) == 2
    assert "no *.xml file" in capsys.readouterr().err
    assert main(["check", "--libvirt", "9.0", "-", "-"]) == 2
    assert "can be read only once" in capsys.readouterr().err
