"""Batch runs: directories as inputs, ``-j N``, progress on a terminal, the summary line.

Expected addresses come from libvirt's recorded answers in ``fixtures/`` (``NAME.out.xml``);
a rejected fixture (``NAME.err``) must exit 1 and a file that is not XML 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from virtaddr.cli import main
from virtaddr.commands import batch, progress
from virtaddr.compare import address_differences

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ACCEPTED = ["pc-typical", "q35-typical", "pc-usb-hub", "q35-hostdevs"]
REJECTED = "pc-reject-double-use"


def _root(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


@pytest.fixture
def batch_dir(tmp_path: Path) -> Path:
    """``in/``: two fixtures as ``*.xml``, two in the corpus layout, one rejected, one not XML,
    and files a directory expansion must ignore."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ACCEPTED[:2]:
        shutil.copy(FIXTURES / f"{name}.in.xml", src / f"{name}.xml")
    for name in ACCEPTED[2:]:
        (src / name).mkdir()
        shutil.copy(FIXTURES / f"{name}.in.xml", src / name / "input.xml")
    shutil.copy(FIXTURES / f"{REJECTED}.in.xml", src / f"{REJECTED}.xml")
    (src / "zz-broken.xml").write_text("<domain>\n  <devices>\n</domain>\n")
    (src / "notes.txt").write_text("not an input\n")
    (src / "no-input").mkdir()
    (src / "no-input" / "other.xml").write_text("<domain/>")
    return src


def test_expand_inputs_lists_xml_files_and_corpus_cases(batch_dir: Path) -> None:
    inputs, problem = batch.expand_inputs([str(batch_dir), "-", "missing.xml"])
    assert problem is None
    assert [(Path(i.path).relative_to(batch_dir).as_posix(), i.name) for i in inputs[:-2]] == [
        ("pc-reject-double-use.xml", "pc-reject-double-use.xml"),
        ("pc-typical.xml", "pc-typical.xml"),
        ("pc-usb-hub/input.xml", "pc-usb-hub.xml"),
        ("q35-hostdevs/input.xml", "q35-hostdevs.xml"),
        ("q35-typical.xml", "q35-typical.xml"),
        ("zz-broken.xml", "zz-broken.xml"),
    ]
    assert inputs[-2:] == [batch.Input("-", "-"), batch.Input("missing.xml", "missing.xml")]


def test_expand_inputs_refuses_a_directory_without_inputs(tmp_path: Path) -> None:
    inputs, problem = batch.expand_inputs([str(tmp_path)])
    assert inputs == []
    assert problem is not None and "no *.xml file" in problem


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_assign_directory_to_out_dir(
    batch_dir: Path, tmp_path: Path, jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert (
        main(["assign", "--libvirt", "9.0", "-j", jobs, "--out-dir", str(out), str(batch_dir)]) == 2
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.xml" for n in ACCEPTED)
    for name in ACCEPTED:
        expected = _root(FIXTURES / f"{name}.out.xml")
        assert address_differences(expected, _root(out / f"{name}.xml")) == [], name
    err = capsys.readouterr().err.splitlines()
    # Messages come in input order whatever -j, and are never interleaved.
    files = [line.split(":")[0] for line in err[:-1]]
    assert files == sorted(files)
    assert {Path(f).name for f in files} == {f"{REJECTED}.xml", "zz-broken.xml"}
    assert err[-1] == "virtaddr assign: 6 files: 4 ok, 1 with problems, 1 unusable"


def test_exit_status_is_the_highest(batch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (batch_dir / "zz-broken.xml").unlink()
    assert (
        main(["assign", "--libvirt", "9.0", "-j", "2", "--out-dir", str(out), str(batch_dir)]) == 1
    )
    (batch_dir / f"{REJECTED}.xml").unlink()
    assert (
        main(["assign", "--libvirt", "9.0", "-j", "2", "--out-dir", str(out), str(batch_dir)]) == 0
    )


def test_parallel_in_place_matches_libvirt(tmp_path: Path) -> None:
    paths = []
    for name in ACCEPTED:
        path = tmp_path / f"{name}.xml"
        shutil.copy(FIXTURES / f"{name}.in.xml", path)
        paths.append(path)
    assert main(["assign", "--libvirt", "9.0", "--in-place", "-j", "2", *map(str, paths)]) == 0
    for name, path in zip(ACCEPTED, paths, strict=True):
        assert address_differences(_root(FIXTURES / f"{name}.out.xml"), _root(path)) == []


def test_directory_needs_out_dir_or_in_place(
    batch_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["assign", "--libvirt", "9.0", str(batch_dir)]) == 2
    assert "several INPUTs need --in-place or --out-dir" in capsys.readouterr().err


def test_corpus_layout_names_clash_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d" / "x").mkdir(parents=True)
    (tmp_path / "d" / "x" / "input.xml").write_text("<domain/>")
    (tmp_path / "d" / "x.xml").write_text("<domain/>")
    assert (
        main(["assign", "--libvirt", "9.0", "--out-dir", str(tmp_path), str(tmp_path / "d")]) == 2
    )
    assert "several INPUTs are named x.xml" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "two"])
def test_bad_jobs(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", "-j", value, "a.xml"]) == 2
    assert "-j/--jobs" in capsys.readouterr().err


def test_single_file_prints_no_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "--libvirt", "9.0", str(FIXTURES / "pc-typical.in.xml")]) == 0
    assert capsys.readouterr().err == ""


def test_progress_only_when_asked_or_on_a_terminal(
    batch_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = ["assign", "--out-dir", str(out), str(batch_dir)]
    main(argv)
    assert "\r" not in capsys.readouterr().err  # a captured stderr is not a terminal

    pytest.importorskip("tqdm", reason="the progress bar needs tqdm (the 'progress' extra)")
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    main([*argv, "--progress"])
    err = capsys.readouterr().err
    assert "\r[" in err and "/6 files" in err
    assert "\r\x1b[K" in err  # the bar is erased before messages and the summary
    assert err.splitlines()[-1].endswith(
        "virtaddr assign: 6 files: 4 ok, 1 with problems, 1 unusable"
    )

    main([*argv, "--no-progress"])
    assert "\r" not in capsys.readouterr().err


def test_summary_counts() -> None:
    summary = batch.Summary(ok=3, problems=0, unusable=1, status=2)
    assert summary.files == 4
    assert summary.line() == "4 files: 3 ok, 0 with problems, 1 unusable"
    assert batch.Summary(ok=1).line() == "1 file: 1 ok, 0 with problems, 0 unusable"
