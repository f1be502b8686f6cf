"""Golden ``virtaddr plan`` cases ``fixtures/plan/NAME/``, recorded from libvirt's attach-device.

Recorded by ``tests/oracle/record_plan_fixtures.py`` (layout in ``tests/oracle/plan_cases.py``).
``libvirt.xml``: our plan must give the same addresses and controllers; ``libvirt.err``: libvirt
refuses a device, so our plan must exit 1 with libvirt's message, name that device file and write
nothing. No libvirt
is needed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "oracle"))

from plan_cases import plan_argv

from addrcompare import compare_files
from parity import FIXTURES_DIR, compare_script, libvirt_text

PLAN_DIR = FIXTURES_DIR / "plan"
NAMES = sorted(p.name for p in PLAN_DIR.iterdir() if p.is_dir()) if PLAN_DIR.is_dir() else []


def test_every_plan_fixture_has_one_answer() -> None:
    assert NAMES, f"no fixtures in {PLAN_DIR}"
    for name in NAMES:
        case = PLAN_DIR / name
        answers = [p.name for p in (case / "libvirt.xml", case / "libvirt.err") if p.is_file()]
        assert len(answers) == 1, f"{name}: want exactly one of libvirt.xml/.err, found {answers}"


@pytest.mark.parametrize("name", NAMES)
def test_plan_fixture(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from virtaddr.cli import main

    case = PLAN_DIR / name
    out = tmp_path / "ours.xml"
    code = main(["plan", "--libvirt", "9.0", *plan_argv(case), "-o", str(out)])
    err = case / "libvirt.err"
    if err.is_file():
        message = err.read_text().strip()
        assert code == 1, f"exit {code}, expected 1; libvirt says: {message}"
        assert not out.exists(), "a refused attach must not be written out"
        stderr = capsys.readouterr().err
        assert "device-" in stderr, "the message names the device file"
        assert libvirt_text(message) in stderr
        return
    assert code == 0, f"plan exited {code}; libvirt stores {name}"
    problems = compare_files(case / "libvirt.xml", out, compare_script())
    assert not problems, "\n".join(problems)
