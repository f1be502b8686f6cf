"""Shared test configuration: hypothesis profiles, where the corpus and the oracle live, skips.

Profiles (``hypothesis``):
  ``ci``       selected when ``CI=true``: derandomized, no deadline, prints reproduction blobs.
  ``explore``  selected with ``HYPOTHESIS_PROFILE=explore``: many random examples, for hunting.
  ``dev``      the default: a moderate number of random examples.

Locations (each overridable by an environment variable; repo = the directory of pyproject.toml):
  corpus   ``VIRTADDR_CORPUS``, else ``<repo>/../shared/corpus``
  oracle   ``VIRTADDR_ORACLE``, else ``<repo>/../shared/oracle``

Tests marked ``corpus`` or ``oracle`` skip, with the reason, when what they need is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TESTS_DIR = Path(__file__).resolve().parent

if str(TESTS_DIR) not in sys.path:  # helper modules (parity, addrcompare) importable everywhere
    sys.path.insert(0, str(TESTS_DIR))

# ---------------------------------------------------------------------------- hypothesis

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    derandomize=False,
    deadline=None,
    print_blob=True,
    max_examples=5000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)


def _profile_name() -> str:
    explicit = os.environ.get("HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    if os.environ.get("CI", "").lower() == "true":
        return "ci"
    return "dev"


settings.load_profile(_profile_name())

# ---------------------------------------------------------------------------- locations

# The locations live in parity.py, which is also a stand-alone script.
from parity import (  # noqa: E402
    FIXTURES_DIR,
    corpus_dir,
    corpus_missing_reason,
    oracle_dir,
)


@cache
def oracle_missing_reason() -> str | None:
    """None when the live libvirt oracle is usable, else why not (checked once per session)."""
    path = oracle_dir()
    if not (path / "libvirt-assign").is_file():
        return f"oracle not found at {path}: set VIRTADDR_ORACLE"
    virsh = shutil.which("virsh")
    if virsh is None:
        return "oracle unusable: virsh is not installed (run libvirt-oracle-setup.sh)"
    try:
        proc = subprocess.run(
            [virsh, "-c", "qemu:///system", "uri"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "oracle unusable: `virsh -c qemu:///system uri` did not answer within 5 s"
    except OSError as exc:
        return f"oracle unusable: cannot run virsh: {exc}"
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        detail = why[-1] if why else f"exit status {proc.returncode}"
        return f"oracle unusable: libvirt does not answer at qemu:///system ({detail})"
    return None


def oracle_available() -> bool:
    return oracle_missing_reason() is None


# ---------------------------------------------------------------------------- markers / fixtures


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``corpus``/``oracle`` tests up front, with the reason, when their resource is absent."""
    for item in items:
        if item.get_closest_marker("corpus") is not None:
            reason = corpus_missing_reason()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("oracle") is not None:
            reason = oracle_missing_reason()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus directory; skips the test when it is absent."""
    reason = corpus_missing_reason()
    if reason:
        pytest.skip(reason)
    return corpus_dir()


@pytest.fixture(scope="session")
def oracle() -> Path:
    """The oracle directory with a live libvirt behind it; skips the test otherwise."""
    reason = oracle_missing_reason()
    if reason:
        pytest.skip(reason)
    return oracle_dir()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR
