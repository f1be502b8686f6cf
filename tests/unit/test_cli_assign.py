"""``virtaddr assign``'s options from the field report: ``--out-dir`` that creates its folder and
never replaces an input, ``--check`` for CI, and the hint when libvirt's growth gives up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from virtaddr.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TYPICAL = FIXTURES / "pc-typical.in.xml"  # assign fills in addresses: it would change
REJECTED = FIXTURES / "pc-reject-double-use.in.xml"  # an address problem (exit 1)


@pytest.fixture
def typical(tmp_path: Path) -> Path:
    path = tmp_path / "typical.xml"
    shutil.copyfile(TYPICAL, path)
    return path


@pytest.fixture
def complete(tmp_path: Path) -> Path:
    """A domain assign leaves as it is (its own --in-place result)."""
    path = tmp_path / "complete.xml"
    shutil.copyfile(TYPICAL, path)
    assert main(["assign", "--in-place", str(path)]) == 0
    return path


# ---------------------------------------------------------------------------- --out-dir


def test_out_dir_is_created_with_its_parents(
    typical: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "deeper" / "out"
    assert main(["assign", "--out-dir", str(out), str(typical)]) == 0
    assert (out / "typical.xml").read_bytes().count(b"<address") > 3
    assert capsys.readouterr().err == ""


def test_out_dir_that_cannot_be_created(
    typical: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    assert main(["assign", "--out-dir", str(tmp_path / "file" / "out"), str(typical)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"virtaddr assign: error: --out-dir {tmp_path / 'file' / 'out'}: ")
    assert "cannot create" in err


@pytest.mark.parametrize(
    "out_dir",
    [".", "./", "sub/..", "alias"],
    ids=["dot", "dot-slash", "dotdot", "symlink"],
)
def test_out_dir_never_replaces_an_input(
    typical: Path,
    complete: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    out_dir: str,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {path: path.read_bytes() for path in (typical, complete)}
    assert main(["assign", "--out-dir", out_dir, "complete.xml", "typical.xml"]) == 2
    err = capsys.readouterr().err
    assert f"--out-dir {out_dir}: the result of complete.xml would replace the input" in err
    assert "nothing written" in err
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alias",
        "complete.xml",
        "sub",
        "typical.xml",
    ]


def test_out_dir_refuses_a_symlink_to_an_input(
    typical: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "typical.xml").symlink_to(typical)  # a write would follow it to the input
    before = typical.read_bytes()
    assert main(["assign", "--out-dir", str(out), str(typical)]) == 2
    assert "would replace the input" in capsys.readouterr().err
    assert typical.read_bytes() == before


def test_out_dir_next_to_the_inputs_is_fine(
    typical: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["assign", "--out-dir", "out", "typical.xml"]) == 0
    assert (tmp_path / "out" / "typical.xml").is_file()


# ---------------------------------------------------------------------------- --check


def test_check_exit_status_says_whether_assign_would_change(
    typical: Path, complete: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = typical.read_bytes()
    assert main(["assign", "--check", str(typical)]) == 3
    assert capsys.readouterr() == (f"{typical}: would change\n", "")
    assert typical.read_bytes() == before

    assert main(["assign", "--check", str(complete)]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_with_diff_prints_the_diff(
    typical: Path, complete: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["assign", "--check", "--diff", str(typical)]) == 3
    out = capsys.readouterr().out
    assert out.startswith(f"--- {typical}\n+++ {typical}\n@@ ")
    assert "+            <address type='pci'" in out

    assert main(["assign", "--check", "--diff", str(complete)]) == 0
    assert capsys.readouterr().out == ""


def test_diff_alone_still_exits_0(typical: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--diff", str(typical)]) == 0
    assert "+            <address" in capsys.readouterr().out


def test_check_over_several_files_a_problem_outranks_a_change(
    typical: Path, complete: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rejected = tmp_path / "rejected.xml"
    shutil.copyfile(REJECTED, rejected)
    unusable = tmp_path / "unusable.xml"
    unusable.write_text("<domain")

    assert main(["assign", "--check", str(complete), str(typical)]) == 3
    err = capsys.readouterr().err
    assert err.endswith(
        "virtaddr assign: 2 files: 1 ok, 1 would change, 0 with problems, 0 unusable\n"
    )

    assert main(["assign", "--check", str(typical), str(rejected)]) == 1
    assert main(["assign", "--check", str(rejected), str(typical), str(unusable)]) == 2
    capsys.readouterr()

    assert main(["assign", "--check", "-j", "2", str(tmp_path)]) == 2  # a directory
    captured = capsys.readouterr()
    assert captured.out == f"{typical}: would change\n"
    assert captured.err.endswith("4 files: 1 ok, 1 would change, 1 with problems, 1 unusable\n")


def test_check_reads_standard_input(
    typical: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(typical.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["assign", "--check", "-"]) == 3
    assert capsysbinary.readouterr().out == b"<stdin>: would change\n"


# ---------------------------------------------------------------------------- --grow deep hint


def _many_disks(path: Path, count: int) -> Path:
    def name(n: int) -> str:
        text = ""
        n += 1
        while n:
            n, letter = divmod(n - 1, 26)
            text = chr(ord("a") + letter) + text
        return "vd" + text

    disks = "".join(
        f"<disk type='file'><source file='/d{n}.img'/><target dev='{name(n)}' bus='virtio'/>"
        "</disk>\n"
        for n in range(count)
    )
    path.write_text(
        "<domain type='qemu'><name>big</name><memory>65536</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
        f"<devices>\n{disks}</devices></domain>\n"
    )
    return path


def test_libvirts_growth_giving_up_points_to_grow_deep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = _many_disks(tmp_path / "big.xml", 1000)  # libvirt's growth ends near 700 on pc
    assert main(["assign", str(big)]) == 1
    err = capsys.readouterr().err
    libvirt_words = "but none is available, and it cannot be automatically added"
    assert f"{libvirt_words}; --grow deep builds a deeper PCI topology" in err

    assert main(["check", str(big)]) == 1
    captured = capsys.readouterr()
    assert libvirt_words + "\n" in captured.out  # check's errors stay in libvirt's words
    assert f"{big}: note: libvirt's growth gives up here; virtaddr assign --grow deep" in (
        captured.err
    )

    assert main(["assign", "--grow", "deep", "-o", os.devnull, str(big)]) == 0


@pytest.mark.parametrize(
    "fixture",
    [
        "pc-reject-double-use",  # another problem
        "diff-dmi-to-pci-bridge-no-slot",  # libvirt's words, but no topology places it
    ],
)
def test_no_hint_where_grow_deep_would_not_help(
    fixture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / f"{fixture}.in.xml"
    assert main(["assign", str(path)]) == 1
    assert main(["check", str(path)]) == 1
    assert main(["assign", "--grow", "deep", "-o", os.devnull, str(path)]) == 1
    captured = capsys.readouterr()
    assert "--grow deep builds" not in captured.out + captured.err
