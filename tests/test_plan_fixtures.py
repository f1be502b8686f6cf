"""Golden ``virtaddr plan`` cases ``plan/NAME/``, recorded from libvirt's attach-device.

Recorded by ``tests/oracle/record_plan_fixtures.py`` (layout in ``tests/oracle/plan_cases.py``),
each held to the libvirt version that answered it (``fixtures/README.md``): ``fixtures/plan/``
holds libvirt 9.0's answers, ``fixtures/libvirt-11.3/plan/`` libvirt 11.3's; our plan runs with
that version's ``--libvirt``.
``libvirt.xml``: our plan must give the same addresses and controllers; ``libvirt.err``: libvirt
refuses a device, so our plan must exit 1 with libvirt's message, name that device file and write
nothing. No libvirt is needed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "oracle"))

from plan_cases import plan_argv

from addrcompare import compare_files
from parity import ORACLE_VERSIONS, compare_script, fixture_param, fixtures_dir, libvirt_text


def _plan_dir(libvirt: str) -> Path:
    return fixtures_dir(libvirt) / "plan"


def _names(libvirt: str) -> list[str]:
    folder = _plan_dir(libvirt)
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


# Recorded answers ours does not give yet, each with why; strict: a fix makes the test fail
# until its line is removed.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
def test_every_plan_fixture_has_one_answer(libvirt: str) -> None:
    names = _names(libvirt)
    assert names, f"no fixtures in {_plan_dir(libvirt)}"
    for name in names:
        case = _plan_dir(libvirt) / name
        answers = [p.name for p in (case / "libvirt.xml", case / "libvirt.err") if p.is_file()]
        assert len(answers) == 1, f"{name}: want exactly one of libvirt.xml/.err, found {answers}"


@pytest.mark.parametrize(
    ("libvirt", "name"),
    [fixture_param(v, n, KNOWN_DIFFERENCES) for v in ORACLE_VERSIONS for n in _names(v)],
)
def test_plan_fixture(
    libvirt: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtaddr.cli import main

    case = _plan_dir(libvirt) / name
    out = tmp_path / "ours.xml"
    code = main(["plan", "--libvirt", libvirt, *plan_argv(case), "-o", str(out)])
    err = case / "libvirt.err"
    if err.is_file():
        message = err.read_text().strip()
        assert code == 1, f"exit {code}, expected 1; libvirt {libvirt} says: {message}"
        assert not out.exists(), "a refused attach must not be written out"
        stderr = capsys.readouterr().err
        assert "device-" in stderr, "the message names the device file"
        assert libvirt_text(message) in stderr
        return
    assert code == 0, f"plan exited {code}; libvirt {libvirt} stores {name}"
    problems = compare_files(case / "libvirt.xml", out, compare_script())
    assert not problems, "\n".join(problems)
