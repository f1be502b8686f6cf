"""``.pre-commit-hooks.yaml``: ``virtaddr check`` as a pre-commit hook, run by pre-commit itself.

The slow test does what a user's repository of domain XMLs does: a ``.pre-commit-config.yaml``
naming virtaddr's repository (here a scratch git copy of this source tree) at a commit, and
``pre-commit run``, which installs virtaddr into an environment of its own and runs the hook on
the XML files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
FIXTURES = ROOT / "fixtures"

needs_pre_commit = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None,
    reason="pre-commit is not installed (it is in the 'test' extra)",
)
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
# pip could not reach a package index: a fact of this machine, not of the hook.
OFFLINE = ("Failed to establish a new connection", "Temporary failure in name resolution")


@needs_pre_commit
def test_the_manifest_is_valid() -> None:
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(MANIFEST))
    assert hook["id"] == "virtaddr-check"
    assert hook["entry"] == "virtaddr check"
    assert hook["language"] == "python"
    assert hook["types"] == ["xml"]


def git(cwd: Path, *argv: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    command += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *argv]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def hook_repository(where: Path) -> tuple[Path, str]:
    """A git repository holding this source tree's package and hook manifest; its commit."""
    where.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copyfile(ROOT / name, where / name)
    shutil.copytree(
        ROOT / "src", where / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    git(where, "init", "-q")
    git(where, "add", ".")
    git(where, "commit", "-q", "-m", "virtaddr")
    return where, git(where, "rev-parse", "HEAD")


@pytest.mark.slow
@needs_pre_commit
@needs_git
def test_pre_commit_runs_virtaddr_check(tmp_path: Path) -> None:
    hooks, rev = hook_repository(tmp_path / "virtaddr")
    guests = tmp_path / "guests"
    guests.mkdir()
    shutil.copyfile(FIXTURES / "pc-typical.in.xml", guests / "web.xml")
    shutil.copyfile(FIXTURES / "q35-typical.in.xml", guests / "db.xml")
    (guests / "notes.txt").write_text("<not xml and not checked\n")
    (guests / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: virtaddr-check\n"
    )
    git(guests, "init", "-q")
    git(guests, "add", ".")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"))
    env.pop("PYTHONPATH", None)  # the hook must run the virtaddr it installed

    def run() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"]
        done = subprocess.run(
            command, cwd=guests, env=env, capture_output=True, text=True, timeout=900
        )
        log = tmp_path / "cache" / "pre-commit.log"
        if done.returncode == 3 and log.exists() and any(w in log.read_text() for w in OFFLINE):
            pytest.skip("pre-commit could not install virtaddr: no package index reachable")
        return done

    passed = run()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "virtaddr check" in passed.stdout and "Passed" in passed.stdout

    shutil.copyfile(FIXTURES / "pc-reject-double-use.in.xml", guests / "bad.xml")
    git(guests, "add", "bad.xml")
    failed = run()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout
    assert "bad.xml:8: error: interface user #1: Attempted double use of PCI Address" in (
        failed.stdout
    )
    assert "notes.txt" not in failed.stdout  # not XML: not given to the hook
