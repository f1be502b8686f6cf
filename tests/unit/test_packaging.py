"""The schemas reach an installed virtaddr: ``schemas/`` is shipped as package data.

``schemas/`` is the documented location; ``src/virtaddr/schemas/`` is its copy inside the package
(what ``virtaddr check`` reads). The slow test installs a copy of the source tree with
``pip install --target`` (not editable) and runs ``virtaddr check`` from there alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = REPO / "schemas"
PACKAGED = REPO / "src" / "virtaddr" / "schemas"
SCHEMA_FILES = ("*.xsd", "*.json")


def schema_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for pattern in SCHEMA_FILES for p in directory.glob(pattern)}


def test_the_package_copy_is_the_documented_schemas() -> None:
    documented = schema_files(DOCUMENTED)
    assert "address.xsd" in documented and "check-report.schema.json" in documented
    assert schema_files(PACKAGED) == documented, (
        f"{PACKAGED} differs from {DOCUMENTED}: copy schemas/ there"
    )


def test_check_reads_the_package_copy() -> None:
    from virtaddr.checker import schemas

    assert schemas.SCHEMA_DIR == PACKAGED


# A domain whose one <address> is malformed (multifunction='maybe'): the XSD check reports it.
BAD_ADDRESS = """<domain type='qemu'>
  <name>t</name>
  <memory>219136</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='user'><address type='pci' domain='0' bus='0' slot='5' multifunction='maybe'/>
    </interface>
  </devices>
</domain>
"""


@pytest.mark.slow
def test_an_installed_package_has_its_schemas(tmp_path: Path) -> None:
    source = tmp_path / "source"  # never build in the shared checkout (pip writes build/ there)
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    target = tmp_path / "installed"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target)]
    proc = subprocess.run([*pip, str(source)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "No matching distribution found" in proc.stdout + proc.stderr:
        pytest.skip(f"pip cannot fetch the build backend here:\n{proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert schema_files(target / "virtaddr" / "schemas") == schema_files(DOCUMENTED)

    (tmp_path / "d.xml").write_text(BAD_ADDRESS)
    # -S: no site-packages .pth, so the editable install of the checkout cannot take over;
    # the dependencies (lxml, xmlschema) come from this interpreter's site-packages.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), sysconfig.get_path("purelib")]))
    code = (
        "import sys, virtaddr; from virtaddr.cli import main; "
        "print(virtaddr.__file__, file=sys.stderr); sys.exit(main(sys.argv[1:]))"
    )
    argv = ["check", "--json", "--schema", str(tmp_path / "d.xml")]
    run = subprocess.run(
        [sys.executable, "-S", "-c", code, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert run.stderr.splitlines()[0].startswith(str(target)), run.stderr
    assert run.returncode == 1, run.stdout + run.stderr
    [entry] = json.loads(run.stdout)["files"]
    problems = entry["problems"]
    found = [(p["line"], p["severity"]) for p in problems if p["code"] == "address-schema"]
    assert found == [(6, "error")], problems
    assert "Traceback" not in run.stderr
    assert any("domain.rng" in note for note in entry["notes"])  # --schema says what it did
