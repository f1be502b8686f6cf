"""Shared test configuration: hypothesis profiles, where the corpus and the oracle live, skips.

Profiles (``hypothesis``):
  ``ci``       selected when ``CI=true``: derandomized, no deadline, prints reproduction blobs.
  ``explore``  selected with ``HYPOTHESIS_PROFILE=explore``: many random examples, for hunting.
  ``dev``      the default: a moderate number of random examples.

Locations (each overridable by an environment variable; repo = the directory of pyproject.toml):
  corpus   ``VIRTADDR_CORPUS``, else ``<repo>/../shared/corpus``
  oracle   ``VIRTADDR_ORACLE``, else ``<repo>/../shared/oracle``

Tests marked ``corpus`` or ``oracle`` skip, with the reason, when what they need is absent. The
oracle has one daemon per libvirt version (:data:`ORACLE_VERSIONS`): an ``oracle`` test
parametrized by ``libvirt`` (``@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)``) asks that
version's daemon and skips when that one is absent; the others ask libvirt 9.0's.
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
    ORACLE_VERSIONS,
    corpus_dir,
    corpus_missing_reason,
    oracle_dir,
)

_SETUP = {"9.0": "libvirt-oracle-setup.sh", "11.3": "libvirt11-oracle-setup.sh"}


def _oracle_uri(libvirt: str) -> str | None:
    """The URI of the daemon of libvirt ``libvirt`` (the 11.3 one's socket is in its chroot)."""
    if libvirt == "9.0":
        return "qemu:///system"
    try:
        proc = subprocess.run(
            ["bash", str(oracle_dir() / _SETUP[libvirt]), "--uri"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    uri = proc.stdout.strip()
    return uri if proc.returncode == 0 and uri else None


@cache
def oracle_missing_reason(libvirt: str = "9.0") -> str | None:
    """None when the live libvirt oracle of version ``libvirt`` is usable, else why not (checked
    once per session and version)."""
    path = oracle_dir()
    if not (path / "libvirt-assign").is_file():
        return f"oracle not found at {path}: set VIRTADDR_ORACLE"
    if libvirt not in _SETUP:
        return f"no oracle daemon for libvirt {libvirt} (there are: {', '.join(ORACLE_VERSIONS)})"
    setup = _SETUP[libvirt]
    if not (path / setup).is_file():
        return f"oracle for libvirt {libvirt} not found: {path / setup} is missing"
    virsh = shutil.which("virsh")
    if virsh is None:
        return f"oracle unusable: virsh is not installed (run {setup})"
    uri = _oracle_uri(libvirt)
    if uri is None:
        return f"oracle for libvirt {libvirt} unusable: `{setup} --uri` gave no URI"
    try:
        proc = subprocess.run(
            [virsh, "-c", uri, "uri"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"oracle unusable: `virsh -c {uri} uri` did not answer within 5 s"
    except OSError as exc:
        return f"oracle unusable: cannot run virsh: {exc}"
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        detail = why[-1] if why else f"exit status {proc.returncode}"
        return (
            f"oracle unusable: libvirt {libvirt} does not answer at {uri} ({detail}; run {setup})"
        )
    return None


def _item_libvirt(item: pytest.Item) -> str:
    """The libvirt version an oracle test asks: its ``libvirt`` parameter, else 9.0."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return str(params.get("libvirt", "9.0"))


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
            reason = oracle_missing_reason(_item_libvirt(item))
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
    """The oracle directory with a live libvirt behind it; skips the test when no daemon answers.
    Session-scoped (hypothesis tests use it), so which version's daemon a test needs is the
    ``oracle`` marker's business: it skips the test up front when that daemon is absent."""
    reasons = [oracle_missing_reason(v) for v in ORACLE_VERSIONS]
    reason = None if None in reasons else reasons[0]
    if reason:
        pytest.skip(reason)
    return oracle_dir()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR
