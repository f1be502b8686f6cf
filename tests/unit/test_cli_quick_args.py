"""``assign FILE`` skips argparse (``commands.assign.quick_args``): it must read the command line
exactly as the ``assign`` parser does, and leave every other command line to the parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from virtaddr import cli
from virtaddr.commands.assign import quick_args

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "q35-typical.in.xml"


@pytest.mark.parametrize(
    "arguments",
    [
        ["domain.xml"],
        ["/tmp/a b.xml"],
        ["dir/"],
        ["x"],
        ["domain.xml", "-o", "out.xml"],
        ["domain.xml", "--output", "out.xml"],
        ["-o", "out.xml", "domain.xml"],
        ["--output", "o u t.xml", "domain.xml"],
        ["domain.xml", "-o", "-"],
        ["domain.xml", "-o", "domain.xml"],
    ],
)
def test_quick_args_equal_the_parsers(arguments: list[str]) -> None:
    quick = quick_args(["assign", *arguments])
    assert quick is not None
    assert vars(quick) == vars(cli._build_parser().parse_args(["assign", *arguments]))


@pytest.mark.parametrize(
    "arguments",
    [
        ["assign"],
        ["assign", ""],
        ["assign", "-"],
        ["assign", "--help"],
        ["assign", "a.xml", "b.xml"],
        ["assign", "-o", "out.xml", "a.xml", "b.xml"],
        ["assign", "-o", "-x", "a.xml"],
        ["assign", "a.xml", "-o", ""],
        ["assign", "a.xml", "-o"],
        ["assign", "-o", "a.xml", "-"],
        ["assign", "a.xml", "--out-dir", "d"],
        ["assign", "a.xml", "-i", "x"],
        ["assign", "a.xml", "--grow", "deep"],
        ["check", "a.xml"],
        ["a.xml", "assign"],
    ],
)
def test_other_command_lines_go_to_the_parser(arguments: list[str]) -> None:
    assert quick_args(arguments) is None


def test_assign_file_imports_no_argparse() -> None:
    code = (
        "import sys; from virtaddr.cli import main; main(['assign', '/nonexistent.xml']); "
        "print(sorted({'argparse', 'dataclasses', 'json'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_assigning_a_domain_imports_no_dataclasses(tmp_path: Path) -> None:
    # the whole define pipeline (its problems included) without ``dataclasses``, which costs
    # every process milliseconds (P1): ``--grow deep``'s module loads on use only
    bad = tmp_path / "bad.xml"
    bad.write_text(
        "<domain type='qemu'><name>d</name><memory>65536</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        "<interface type='user'><address type='pci' bus='0' slot='3'/></interface>"
        "<interface type='user'><address type='pci' bus='0' slot='3'/></interface>"
        "</devices></domain>"
    )
    code = (
        "import sys; from virtaddr.cli import main; "
        f"codes = [main(['assign', {str(FIXTURE)!r}]), main(['assign', {str(bad)!r}])]; "
        "print(codes, sorted({'argparse', 'dataclasses', 'json'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.stdout.strip().splitlines()[-1] == "[0, 1] []", run.stdout[-500:] + run.stderr


@pytest.mark.parametrize("output", [[], ["-o", "OUT"]])
def test_assign_file_to_a_file_imports_no_argparse(output: list[str], tmp_path: Path) -> None:
    """Nor what argparse and tempfile bring (shutil, its archive modules, random)."""
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "pc-typical.in.xml"
    argv = [
        str(tmp_path / "out.xml") if a == "OUT" else a for a in ["assign", str(fixture), *output]
    ]
    code = (
        f"import sys; from virtaddr.cli import main; main({argv!r}); "
        "print(sorted({'argparse', 'shutil', 'tempfile', 'random'} & set(sys.modules)), "
        "file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.stderr.strip() == "[]", run.stderr
