"""``virtaddr plan`` against the live libvirt's ``attach-device --config`` on random cases.

Each hypothesis example is a batch of ``BATCH`` random (domain, devices) cases (pc and q35; virtio,
SCSI and SATA disks, interfaces of several models, controllers, channels, USB inputs, sounds; one
in five a detach). ``libvirt-attach`` answers each case (several calls at a time); cases whose
domain libvirt refuses drop out. Then our ``plan`` runs in-process: where libvirt stores a domain
we must give the same addresses and controllers (``compare-addresses --controller-details``),
where it refuses a device we must exit 1 and write nothing.

At least ``MIN_CASES`` (200) cases run under every profile (the ``ci`` one is derandomized);
``explore`` runs 200 batches.
Failing cases are not shrunk (each costs libvirt calls); they are saved under
``$VIRTADDR_COUNTEREXAMPLES`` (default
``$TMPDIR/virtaddr-counterexamples/plan-HASH/``); make each a fixed case with

    .venv/bin/python tests/oracle/record_plan_fixtures.py --import plan-NAME=DIR
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
from parity import compare_script

BATCH = 25
MIN_CASES = 200


@st.composite
def batches(draw: st.DrawFn) -> list[PlanCase]:
    return [draw(plan_cases(i)) for i in range(BATCH)]


def _save(case: PlanCase, answer_xml: str | None, answer_err: str | None) -> Path:
    digest = hashlib.sha1(repr(case).encode()).hexdigest()[:10]
    env = os.environ.get("VIRTADDR_COUNTEREXAMPLES")
    base = Path(env) if env else Path(tempfile.gettempdir()) / "virtaddr-counterexamples"
    target = base / f"plan-{digest}"
    shutil.rmtree(target, ignore_errors=True)
    case.write(target)
    if answer_xml is not None:
        (target / "libvirt.xml").write_text(answer_xml)
    if answer_err is not None:
        (target / "libvirt.err").write_text(answer_err + "\n")
    return target


@pytest.mark.oracle
@settings(
    max_examples=max(math.ceil(MIN_CASES / BATCH), settings.default.max_examples // 25),
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # each case is saved; no slow shrink
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=batches())
def test_plan_agrees_with_libvirt_attach(batch: list[PlanCase], oracle: Path) -> None:
    from virtaddr.cli import main

    failures = []
    with tempfile.TemporaryDirectory(prefix="virtaddr-plan-") as tmp:
        dirs = []
        for i, case in enumerate(batch):
            case.write(Path(tmp) / f"case-{i:02d}")
            dirs.append(Path(tmp) / f"case-{i:02d}")
        answers = ask_libvirt(dirs)
        for case, directory, answer in zip(batch, dirs, answers, strict=True):
            if answer.refused_domain:
                event("libvirt refused the domain")
                continue
            event("detach" if case.detach else "attach")
            event("libvirt refused a device" if answer.error else "libvirt stored it")
            out = directory / "ours.xml"
            code = main(["plan", "--libvirt", "9.0", *plan_argv(directory), "-o", str(out)])
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
        saved = _save(case, answer.xml, answer.error)
        report.append(f"{saved}:\n  " + "\n  ".join(problems[:6]))
    assert not failures, (
        "plan differs from libvirt-attach; make each a fixture with\n"
        "  tests/oracle/record_plan_fixtures.py --import plan-NAME=DIR\n\n" + "\n\n".join(report)
    )
