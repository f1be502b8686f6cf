"""``virtaddr plan`` against the live libvirt's ``attach-device --config`` on random cases.

Each hypothesis example is a batch of ``BATCH`` random (domain, devices) cases (pc and q35; virtio,
SCSI and SATA disks, interfaces of several models, controllers, channels, USB inputs, sounds; one
in five a detach). ``libvirt-attach`` answers each case (several calls at a time); cases whose
domain libvirt refuses drop out. Then our ``plan`` runs in-process: where libvirt stores a domain
we must give the same addresses and controllers (``compare-addresses --controller-details``),
where it refuses a device we must exit 1 and write nothing.

It runs once per libvirt version of the oracle (9.0 and 11.3: ``libvirt-attach --libvirt
VERSION`` against our ``plan --libvirt VERSION``), each with half the cases, and skips a version
whose daemon is absent. At least ``MIN_CASES`` (200) cases run in all under every profile (the
``ci`` one is derandomized); ``explore`` runs 100 batches per version.
Failing cases are not shrunk (each costs libvirt calls); they are saved under
``$VIRTADDR_COUNTEREXAMPLES`` (default
``$TMPDIR/virtaddr-counterexamples/libvirt-VERSION/plan-HASH/``); make each a fixed case,
recorded from the same version's daemon, with

    .venv/bin/python tests/oracle/record_plan_fixtures.py --libvirt VERSION --import plan-NAME=DIR
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plan_cases import PlanCase, ask_libvirt, plan_argv, plan_cases

from addrcompare import compare_files
from parity import ORACLE_VERSIONS, compare_script

BATCH = 25
MIN_CASES = 200  # in all: half on each libvirt version


@st.composite
def batches(draw: st.DrawFn, libvirt: str = "9.0") -> list[PlanCase]:
    return [draw(plan_cases(i, libvirt)) for i in range(BATCH)]


def _save(case: PlanCase, answer_xml: str | None, answer_err: str | None, libvirt: str) -> Path:
    digest = hashlib.sha1(repr(case).encode()).hexdigest()[:10]
    env = os.environ.get("VIRTADDR_COUNTEREXAMPLES")
    base = Path(env) if env else Path(tempfile.gettempdir()) / "virtaddr-counterexamples"
    target = base / f"libvirt-{libvirt}" / f"plan-{digest}"
    shutil.rmtree(target, ignore_errors=True)
    case.write(target)
    if answer_xml is not None:
        (target / "libvirt.xml").write_text(answer_xml)
    if answer_err is not None:
        (target / "libvirt.err").write_text(answer_err + "\n")
    return target


@pytest.mark.oracle
@settings(
    max_examples=max(
        math.ceil(MIN_CASES / len(ORACLE_VERSIONS) / BATCH), settings.default.max_examples // 50
    ),
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # each case is saved; no slow shrink
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
@given(data=st.data())
def test_plan_agrees_with_libvirt_attach(libvirt: str, data: st.DataObject, oracle: Path) -> None:
    from virtaddr.cli import main

    batch = data.draw(batches(libvirt), label="batch")
    failures = []
    with tempfile.TemporaryDirectory(prefix="virtaddr-plan-") as tmp:
        dirs = []
        for i, case in enumerate(batch):
            case.write(Path(tmp) / f"case-{i:02d}")
            dirs.append(Path(tmp) / f"case-{i:02d}")
        answers = ask_libvirt(dirs, libvirt)
        for case, directory, answer in zip(batch, dirs, answers, strict=True):
            if answer.refused_domain:
                event("libvirt refused the domain")
                continue
            event("detach" if case.detach else "attach")
            event("libvirt refused a device" if answer.error else "libvirt stored it")
            out = directory / "ours.xml"
            code = main(["plan", "--libvirt", libvirt, *plan_argv(directory), "-o", str(out)])
            if answer.error is not None:
                if code != 1 or out.exists():
                    problem = f"libvirt refuses ({answer.error}); our plan exited {code}"
                    failures.append((case, answer, [problem]))
                continue
            if code != 0:
                failures.append((case, answer, [f"our plan exited {code}; libvirt stores it"]))
                continue
            expected = directory / "libvirt.xml"
            expected.write_text(answer.xml or "")
            problems = compare_files(expected, out, compare_script())
            if problems:
                failures.append((case, answer, problems))
    report = []
    for case, answer, problems in failures:
        saved = _save(case, answer.xml, answer.error, libvirt)
        report.append(f"{saved}:\n  " + "\n  ".join(problems[:6]))
    assert not failures, (
        f"plan differs from libvirt-attach --libvirt {libvirt}; make each a fixture with\n"
        f"  tests/oracle/record_plan_fixtures.py --libvirt {libvirt} --import plan-NAME=DIR\n\n"
        + "\n\n".join(report)
    )
