"""The command line through ``main(argv)``, with a stand-in for the address pipeline.

The stand-in (``fake_pipeline``) gives every ``<disk>`` without an address a PCI address and
reports an error Problem for every ``<disk>`` whose target is ``bad``; it lets the CLI's own
logic (exit codes, where results go, atomic writes, several inputs) be tested on its own.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import virtaddr
import virtaddr.api
from virtaddr import __version__
from virtaddr.api import AssignResult, Problem
from virtaddr.cli import main
from virtaddr.errors import UnusableInput
from virtaddr.xmldoc.xmledit import set_address

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<domain type='kvm'>
  <name>good</name>
  <devices>
    <disk type='file'>
      <target dev='vda'/>
    </disk>
  </devices>
</domain>
"""
# Every output is the input's text with the new text spliced in (virtaddr.xmldoc.splice): its
# quotes stay, and the new address takes them.
GOOD_SPLICED = GOOD.replace(
    b"<target dev='vda'/>\n",
    b"<target dev='vda'/>\n"
    b"      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n",
)
BAD = b"""<domain type='kvm'>
  <name>bad</name>
  <devices>
    <disk type='file'>
      <target dev='bad'/>
    </disk>
    <disk type='file'>
      <target dev='bad'/>
    </disk>
  </devices>
</domain>
"""


def line_of(elem: etree._Element) -> int | None:
    line = elem.sourceline
    return line if isinstance(line, int) else None


def fake_assign_tree(
    tree: etree._ElementTree, *, source: str | None = None, libvirt: str | None = None
) -> AssignResult:
    root = tree.getroot()
    if root.get("type") == "unusable":
        raise UnusableInput("domain type 'unusable' is not supported", line=1, source=source)
    errors: list[Problem] = []
    for disk in root.iter("disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == "bad":
            errors.append(
                Problem(
                    "error",
                    "no free PCI slot",
                    line=line_of(disk),
                    device="disk bad",
                    source=source,
                )
            )
            continue
        if disk.find("address") is None:
            set_address(
                disk,
                [
                    ("type", "pci"),
                    ("domain", "0x0000"),
                    ("bus", "0x00"),
                    ("slot", "0x03"),
                    ("function", "0x0"),
                ],
            )
    return AssignResult(tree, errors)


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virtaddr.api, "assign_tree", fake_assign_tree)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "good": tmp_path / "good.xml",
        "bad": tmp_path / "bad.xml",
        "notxml": tmp_path / "notxml.xml",
        "network": tmp_path / "network.xml",
        "empty": tmp_path / "empty.xml",
    }
    paths["good"].write_bytes(GOOD)
    paths["bad"].write_bytes(BAD)
    paths["notxml"].write_bytes(b"<domain>\n  <devices>\n</domain>\n")
    paths["network"].write_bytes(b"<network><name>default</name></network>\n")
    paths["empty"].write_bytes(b"")
    return paths


def set_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# ---------------------------------------------------------------------------- basics


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"virtaddr {__version__}"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "assign" in capsys.readouterr().out


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "command is required" in capsys.readouterr().err


def test_unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", "--frobnicate", "x.xml"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_help_does_not_import_lxml() -> None:
    code = (
        "import sys\n"
        "from virtaddr.cli import main\n"
        "assert main(['--help']) == 0\n"
        "assert main(['assign', '--help']) == 0\n"
        "heavy = ('lxml', 'virtaddr.xmldoc.xmlio', 'virtaddr.passes.pipeline')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_is_the_command(tmp_path: Path) -> None:
    """``python -m virtaddr`` (no console script needed): same usage, output and statuses."""
    src = str(Path(virtaddr.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    good = Path(__file__).resolve().parents[2] / "fixtures" / "pc-typical.in.xml"
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<domain")

    def run(*argv: str) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "virtaddr", *argv]
        return subprocess.run(command, capture_output=True, env=env, check=False, timeout=60)

    version = run("--version")
    assert (version.returncode, version.stdout) == (0, f"virtaddr {__version__}\n".encode())
    assert run("--help").stdout.startswith(b"usage: virtaddr ")
    assigned = run("assign", str(good))
    assert assigned.returncode == 0
    assert b"<address type='pci'" in assigned.stdout
    unusable = run("assign", str(bad))
    assert unusable.returncode == 2
    assert unusable.stderr.startswith(f"{bad}:1: not well-formed XML".encode())


# ---------------------------------------------------------------------------- exit 2


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.xml"
    assert main(["assign", "--libvirt", "9.0", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{missing}: cannot read: No such file or directory\n"


def test_not_xml(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", str(files["notxml"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{files['notxml']}:3: not well-formed XML: ")
    assert "Traceback" not in err


def test_not_a_domain(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", str(files["network"])]) == 2
    assert "the root element is <network>, not <domain>" in capsys.readouterr().err


def test_empty_file(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", str(files["empty"])]) == 2
    assert "empty input" in capsys.readouterr().err


def test_empty_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    set_stdin(monkeypatch, b"")
    assert main(["assign", "--libvirt", "9.0", "-"]) == 2
    assert capsys.readouterr().err == "<stdin>: empty input: expected a <domain> XML document\n"


def test_unusable_raised_by_pipeline(
    fake_pipeline: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "u.xml"
    path.write_bytes(b"<domain type='unusable'/>")
    assert main(["assign", "--libvirt", "9.0", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:1: domain type 'unusable' is not supported\n"


@pytest.mark.parametrize(
    ("argv_tail", "message"),
    [
        (["-o", "OUT", "a.xml", "b.xml"], "-o/--output takes a single INPUT"),
        (["a.xml", "b.xml"], "several INPUTs need --in-place or --out-dir"),
        (["--in-place", "-"], "--in-place cannot replace standard input"),
        (["-", "-", "--in-place"], "can be read only once"),
        (["--out-dir", "/dev/null", "a.xml"], "--out-dir /dev/null: not a directory"),
        (["--check", "--in-place", "a.xml"], "--check writes nothing"),
        (["--check", "--out-dir", "o", "a.xml"], "--check writes nothing"),
        (["--in-place", "-o", "x", "a.xml"], "not allowed with argument"),
    ],
)
def test_bad_usage(argv_tail: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", *argv_tail]) == 2
    assert message in capsys.readouterr().err


def test_out_dir_basename_clash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    argv = [
        "assign",
        "--out-dir",
        str(tmp_path),
        str(tmp_path / "a/x.xml"),
        str(tmp_path / "b/x.xml"),
    ]
    assert main(argv) == 2
    assert "several INPUTs are named x.xml" in capsys.readouterr().err


# ---------------------------------------------------------------------------- success


def test_assign_to_stdout(
    fake_pipeline: None, files: dict[str, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["assign", "--libvirt", "9.0", str(files["good"])]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == GOOD_SPLICED
    assert captured.err == b""
    assert files["good"].read_bytes() == GOOD


def test_assign_from_stdin(
    fake_pipeline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    set_stdin(monkeypatch, GOOD)
    assert main(["assign", "--libvirt", "9.0", "-"]) == 0
    assert capsysbinary.readouterr().out == GOOD_SPLICED


def test_assign_to_output_file(
    fake_pipeline: None, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.xml"
    assert main(["assign", "--libvirt", "9.0", str(files["good"]), "-o", str(out)]) == 0
    assert out.read_bytes() == GOOD_SPLICED
    assert capsys.readouterr().out == ""


def test_assign_in_place_keeps_mode(fake_pipeline: None, files: dict[str, Path]) -> None:
    files["good"].chmod(0o640)
    assert main(["assign", "--libvirt", "9.0", "--in-place", str(files["good"])]) == 0
    assert files["good"].read_bytes() == GOOD_SPLICED
    assert files["good"].stat().st_mode & 0o777 == 0o640


def test_assign_out_dir(fake_pipeline: None, files: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    second = tmp_path / "second.xml"
    second.write_bytes(GOOD)
    assert (
        main(
            [
                "assign",
                "--libvirt",
                "9.0",
                "--out-dir",
                str(out_dir),
                str(files["good"]),
                str(second),
            ]
        )
        == 0
    )
    assert sorted(os.listdir(out_dir)) == ["good.xml", "second.xml"]
    assert (out_dir / "good.xml").read_bytes() == GOOD_SPLICED
    assert files["good"].read_bytes() == GOOD


# ---------------------------------------------------------------------------- exit 1


def test_address_problems_are_all_reported_and_nothing_written(
    fake_pipeline: None, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.xml"
    assert main(["assign", "--libvirt", "9.0", str(files["bad"]), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"{files['bad']}:4: disk bad: no free PCI slot\n"
        f"{files['bad']}:7: disk bad: no free PCI slot\n"
    )
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in files.values())


def test_address_problem_on_stdout_prints_no_xml(
    fake_pipeline: None, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["assign", "--libvirt", "9.0", str(files["bad"])]) == 1
    assert capsys.readouterr().out == ""


def test_in_place_failure_keeps_input_intact(
    fake_pipeline: None, files: dict[str, Path], tmp_path: Path
) -> None:
    before = {name: path.read_bytes() for name, path in files.items()}
    argv = ["assign", "--in-place", str(files["bad"]), str(files["notxml"]), str(files["empty"])]
    assert main(argv) == 2
    for name in ("bad", "notxml", "empty"):
        assert files[name].read_bytes() == before[name]
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in files.values())


def test_in_place_write_failure_keeps_input_and_exits_2(
    fake_pipeline: None,
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    assert main(["assign", "--libvirt", "9.0", "--in-place", str(files["good"])]) == 2
    assert files["good"].read_bytes() == GOOD
    assert capsys.readouterr().err == f"{files['good']}: cannot write: No space left on device\n"
    assert len(os.listdir(files["good"].parent)) == len(files)


# ---------------------------------------------------------------------------- several inputs


def test_several_inputs_highest_code_wins_and_good_ones_are_written(
    fake_pipeline: None, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["assign", "--libvirt", "9.0", "--in-place", str(files["good"]), str(files["bad"])])
        == 1
    )
    assert files["good"].read_bytes() == GOOD_SPLICED
    assert files["bad"].read_bytes() == BAD
    capsys.readouterr()

    files["good"].write_bytes(GOOD)
    argv = ["assign", "--in-place", str(files["bad"]), str(files["network"]), str(files["good"])]
    assert main(argv) == 2
    assert files["good"].read_bytes() == GOOD_SPLICED
    *err, summary = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == [str(files["bad"])] * 2 + [str(files["network"])]
    assert summary == "virtaddr assign: 3 files: 1 ok, 1 with problems, 1 unusable"


def test_entry_exits_with_main_status(monkeypatch: pytest.MonkeyPatch) -> None:
    from virtaddr import cli

    monkeypatch.setattr(sys, "argv", ["virtaddr", "--version"])
    with pytest.raises(SystemExit) as info:
        cli.entry()
    assert info.value.code == 0
