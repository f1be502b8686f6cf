"""The README's examples run as written, and the outputs it shows are the commands' own."""

from __future__ import annotations

import argparse
import doctest
import re
import shlex
from pathlib import Path

import pytest

from versiondomains import KIOSK
from virtaddr.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples() -> None:
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n### {title}")
    return text[start : text.index("\n## ", start)]


def _blocks(text: str, language: str = "") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_upgrade_example_is_the_commands_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    section = _section("Before a host upgrade")
    (domain,) = _blocks(section, "xml")
    assert domain == KIOSK  # the domain whose two daemons' answers the tests hold
    shown = next(block for block in _blocks(section) if block.startswith("$ "))
    command, *output = shown.splitlines()
    monkeypatch.chdir(tmp_path)
    Path("kiosk.xml").write_text(domain)
    argv = shlex.split(command.removeprefix("$ virtaddr "))
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == output
    # "after `virtaddr assign --libvirt 9.0 --in-place kiosk.xml` ... the same check prints nothing"
    assert main(["assign", "--libvirt", "9.0", "--in-place", "kiosk.xml"]) == 0
    assert main(argv) == 0
    assert capsys.readouterr().out == ""


def test_the_host_line_is_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from virtaddr.api import HypervisorProfile
    from virtaddr.commands import version_option

    section = _section("Which libvirt")
    (line,) = [b for b in _blocks(section) if b.startswith("virtaddr assign: the host runs")]
    ubuntu = HypervisorProfile(name="qemu:///system", libvirt_version=(10, 0, 0))
    assert version_option.from_args(argparse.Namespace(libvirt=None), "assign", ubuntu) == "9.0"
    assert capsys.readouterr().err == line
