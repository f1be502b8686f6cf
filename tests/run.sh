#!/usr/bin/env bash
# Everything the test suite needs, on a fresh Debian machine, then the suite itself:
# a virtual environment with the package and its test extras, the live libvirt for the
# oracle tests (when ../shared/oracle is there and we are root), lint, types, tests.
# Extra arguments go to pytest.  HYPOTHESIS_PROFILE=explore for random exploration.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

oracle=${VIRTADDR_ORACLE:-../shared/oracle}
if [ -x "$oracle/libvirt-oracle-setup.sh" ] && [ "$(id -u)" = 0 ]; then
    # --all-arches: the emulators for the aarch64/ppc64/s390x differential tests too
    "$oracle/libvirt-oracle-setup.sh" --all-arches >&2 || echo "run.sh: libvirt 9.0 did not start; its oracle tests will be skipped" >&2
fi
if [ -x "$oracle/libvirt11-oracle-setup.sh" ] && [ "$(id -u)" = 0 ]; then
    # libvirt 11.3 + QEMU 10.0 in a chroot beside 9.0 (about 3 minutes and 1.4 GB the first time)
    "$oracle/libvirt11-oracle-setup.sh" --all-arches >&2 || echo "run.sh: libvirt 11.3 did not start; its oracle tests will be skipped" >&2
fi
# The libvirt extra (--connect/--verify) builds only against libvirt-dev + pkg-config, which the
# oracle setup installs; without them its tests skip with the reason.
if ! .venv/bin/python -c 'import libvirt' 2>/dev/null; then
    if pkg-config --exists libvirt 2>/dev/null; then
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,libvirt]' ||
            echo "run.sh: libvirt-python did not build; its tests will be skipped" >&2
    else
        echo "run.sh: no libvirt-dev/pkg-config; libvirt-python tests will be skipped" >&2
    fi
fi

# Graphviz's dot renders `topology --format svg` (its test skips without it)
if ! command -v dot >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get update -q && apt-get install -y -q graphviz; } >&2 || echo "run.sh: graphviz did not install; the dot test will be skipped" >&2
fi

export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
exec .venv/bin/pytest "$@"
