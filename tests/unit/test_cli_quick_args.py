"""``assign FILE`` skips argparse (``commands.assign.quick_args``): it must read the command line
exactly as the ``assign`` parser does, and leave every other command line to the parser."""

from __future__ import annotations

import subprocess
import sys

import pytest

from virtaddr import cli
from virtaddr.commands.assign import quick_args


@pytest.mark.parametrize("path", ["domain.xml", "/tmp/a b.xml", "dir/", "x"])
def test_quick_args_equal_the_parsers(path: str) -> None:
    quick = quick_args(["assign", path])
    assert quick is not None
    assert vars(quick) == vars(cli._build_parser().parse_args(["assign", path]))


@pytest.mark.parametrize(
    "arguments",
    [
        ["assign"],
        ["assign", ""],
        ["assign", "-"],
        ["assign", "--help"],
        ["assign", "a.xml", "b.xml"],
        ["assign", "-o", "out.xml", "a.xml"],
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
