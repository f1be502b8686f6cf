"""Differential test against the live libvirts: random x86_64 domains, libvirt's addresses vs ours.

It runs once per libvirt version of the oracle (``libvirt`` in ``ORACLE_VERSIONS``: 9.0 and
11.3, each its own daemon, ``libvirt-assign --libvirt VERSION``), our assign with the same
``--libvirt VERSION``; each version gets half the batches, drawn apart (hypothesis seeds each
parametrized test by its id), and skips with the reason when its daemon is absent.

Each hypothesis example is a batch of ``BATCH`` random domains from ``tests/domaingen.py`` (pc and
q35 machines; every address kind: PCI with explicit addresses also behind bridges and in
multifunction slots, drive, virtio-serial, USB with hubs, ccid, dimm; some domains big enough that
libvirt must grow the PCI topology, add USB hubs or more virtio-serial controllers; implicit
controllers and mixed USB devices, where 11.3 differs from 9.0; with 11.3 also what only 11.3
knows). One ``libvirt-assign --out DIR ...`` call answers the whole batch. For each domain libvirt
accepts, our assign runs in-process and the oracle's compare-addresses logic (loaded from
``$ORACLE/compare-addresses``, with --controller-details) compares the two; then the same for
libvirt's output given again (the fixpoint: libvirt rejects a few of its own outputs, and ours
must reject them with the same message). For each domain libvirt rejects (a few: the generator
avoids rejections by construction) ours must fail with libvirt's message. A batch with no domain
accepted is rejected.

The number of batches follows the profile so that the ``ci`` profile runs at least 500 domains
in all, half on each version: ``max(ceil(250 / 0.95 / BATCH), max_examples // 8)`` per version
(the 5% margin for rejected domains).

    CI=true .venv/bin/python -m pytest tests/oracle/test_differential.py        # >= 2 x 250 domains
    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/oracle -x       # hunting
    .venv/bin/python tests/oracle/test_differential.py --measure 500 [--libvirt 11.3]  # acceptance
    .venv/bin/python tests/oracle/test_differential.py --hunt 2000 --libvirt 11.3  # every failure

Counterexamples: every failing domain is saved as ``NAME.in.xml`` (with libvirt's answer as
``NAME.out.xml``) under ``$VIRTADDR_COUNTEREXAMPLES/libvirt-VERSION/`` (default:
``$TMPDIR/virtaddr-counterexamples``), and the failure message says where. Make each one a
fixed case, recorded from the same version's daemon, with

    .venv/bin/python tests/oracle/record_fixtures.py --libvirt VERSION --import diff-SHORT-NAME=PATH

(which re-asks libvirt and writes ``diff-SHORT-NAME.{in,out}.xml`` into that version's fixtures,
``fixtures/README.md``); then ``tests/test_fixtures.py`` keeps checking it offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, reject, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ when run as a script

from addrcompare import compare_files
from domaingen import FLAVOURS, domains, is_q35
from parity import ORACLE_VERSIONS, compare_script, oracle_dir

Main = Callable[[list[str]], int]  # virtaddr.cli.main
BATCH = 10
MIN_DOMAINS = 500  # in all: half on each libvirt version
STATS: Counter[str] = Counter()  # accepted / rejected / rejection messages, for --measure
# the flavour of each domain of a batch: 4 mixed, 2 pci, 2 usb, 1 drive, 1 vserial
BATCH_FLAVOURS = (*FLAVOURS, "pci", "usb", "mixed", "mixed", "mixed")
assert len(BATCH_FLAVOURS) == BATCH and set(BATCH_FLAVOURS) == set(FLAVOURS)


@st.composite
def batches(draw: st.DrawFn, libvirt: str = "9.0") -> list[str]:
    """BATCH domains of the flavours in BATCH_FLAVOURS (see tests/domaingen.py) for ``libvirt``."""
    return [
        draw(domains(f"diff-{i:02d}", flavour, libvirt)) for i, flavour in enumerate(BATCH_FLAVOURS)
    ]


# ---------------------------------------------------------------------------- running


def ask_libvirt(
    texts: list[str], workdir: Path, libvirt: str = "9.0"
) -> tuple[dict[str, Path], dict[str, str]]:
    """One libvirt-assign call to the daemon of ``libvirt``: ({name: libvirt's XML},
    {name: libvirt's rejection})."""
    src, out = workdir / "in", workdir / "libvirt"
    src.mkdir()
    names = []
    for text in texts:
        name = re.search(r"<name>([^<]*)</name>", text).group(1)  # type: ignore[union-attr]
        (src / f"{name}.xml").write_text(text)
        names.append(name)
    proc = subprocess.run(
        [str(oracle_dir() / "libvirt-assign"), "--libvirt", libvirt, "--out", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"libvirt-assign failed ({proc.returncode}): {proc.stderr.strip()}")
    rejected = {}
    for line in proc.stderr.splitlines():
        m = re.match(r".*/([^/]+)\.xml: (.*)", line)
        if m:
            rejected[m.group(1)] = m.group(2)
    accepted = {n: out / f"{n}.xml" for n in names if (out / f"{n}.xml").is_file()}
    return accepted, rejected


def counterexample_dir(libvirt: str = "9.0") -> Path:
    """Where the counterexamples against libvirt ``libvirt`` go (one folder per version, so that
    each is recorded from the daemon that answered it)."""
    env = os.environ.get("VIRTADDR_COUNTEREXAMPLES")
    path = Path(env) if env else Path(tempfile.gettempdir()) / "virtaddr-counterexamples"
    path = path / f"libvirt-{libvirt}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_counterexample(
    text: str, libvirt_xml: Path | None, error: str | None = None, libvirt: str = "9.0"
) -> Path:
    """Keep ``NAME.in.xml`` with libvirt's ``NAME.out.xml`` (or its rejection, ``NAME.err``)."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    base = counterexample_dir(libvirt) / f"diff-{digest}"
    base.with_suffix(".in.xml").write_text(text)
    if libvirt_xml is not None:
        base.with_suffix(".out.xml").write_text(libvirt_xml.read_text())
    else:
        base.with_suffix(".err").write_text(f"{error}\n")
    return base.with_suffix(".in.xml")


@pytest.fixture(scope="session")
def assign_main():
    """Our CLI entry point; importing it here makes a missing pass one error, not a shrink run."""
    from virtaddr.cli import main

    return main


def _max_batches() -> int:
    """Per libvirt version: half of what one version alone would run."""
    # libvirt accepts ~99% of the generated domains: a 5% margin keeps >= MIN_DOMAINS accepted
    per_version = MIN_DOMAINS // len(ORACLE_VERSIONS)
    return max(math.ceil(per_version / 0.95 / BATCH), settings.default.max_examples // 8)


def _our_assign(main: Main, given: Path, out: Path, libvirt: str = "9.0") -> tuple[int, str]:
    """Run our CLI in-process: (exit status, what it printed on stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["assign", "--libvirt", libvirt, str(given), "-o", str(out)])
    return code, err.getvalue()


def _without_category(message: str) -> str:
    """libvirt's message without its error class prefix ("XML error: ", "internal error: ")."""
    return re.sub(r"^(XML error|internal error|unsupported configuration): ", "", message)


def check_domains(
    texts: list[str], work: Path, main: Main, libvirt: str = "9.0"
) -> tuple[int, dict[str, str], list[str]]:
    """Ask libvirt ``libvirt`` about ``texts``; for each domain it accepts, compare our assign of
    the domain with libvirt's answer, then our assign of libvirt's answer with what libvirt
    makes of its own answer again (usually the same; libvirt rejects a few of its own outputs,
    e.g. a hub it added behind a user's hub that comes later, and then ours must reject it with
    the same message). Returns (accepted count, {name: rejection}, failure descriptions);
    failing domains are saved with :func:`save_counterexample`."""
    by_name = {re.search(r"<name>([^<]*)</name>", t).group(1): t for t in texts}  # type: ignore[union-attr]
    accepted, rejected = ask_libvirt(texts, work, libvirt)
    again_dir = work / "again"
    again_dir.mkdir()
    again, again_rejected = ask_libvirt(
        [p.read_text() for p in accepted.values()], again_dir, libvirt
    )
    failures = []
    for name, message in rejected.items():
        # libvirt's rejections of these generated domains are address problems: ours must agree
        code, err = _our_assign(
            main, work / "in" / f"{name}.xml", work / f"ours-{name}.xml", libvirt
        )
        if code == 0 or _without_category(message) not in err:
            saved = save_counterexample(by_name[name], None, message, libvirt)
            failures.append(f"{name} (saved as {saved}): libvirt rejects it ({message}); "
                            f"ours exited {code}: {err.strip()}")  # fmt: skip
    for name, libvirt_xml in accepted.items():
        ours = work / f"ours-{name}.xml"
        code, err = _our_assign(main, work / "in" / f"{name}.xml", ours, libvirt)
        if code != 0:
            problems = [f"our assign exited {code}; libvirt accepts the domain: {err.strip()}"]
        else:
            problems = compare_files(libvirt_xml, ours, compare_script())
        if not problems:
            ours = work / f"ours-again-{name}.xml"
            code, err = _our_assign(main, libvirt_xml, ours, libvirt)
            if name in again_rejected:
                message = _without_category(again_rejected[name])
                if code == 0 or message not in err:
                    problems = [f"fixpoint: libvirt rejects its own output ({message}); "
                                f"ours exited {code}: {err.strip()}"]  # fmt: skip
            elif code != 0:
                problems = [
                    f"fixpoint: our assign of libvirt's output exited {code}: {err.strip()}"
                ]
            else:
                problems = [
                    "fixpoint: " + p for p in compare_files(again[name], ours, compare_script())
                ]
        if problems:
            saved = save_counterexample(by_name[name], libvirt_xml, libvirt=libvirt)
            failures.append(f"{name} (saved as {saved}):\n  " + "\n  ".join(problems[:8]))
    return len(accepted), rejected, failures


@pytest.mark.oracle
@pytest.mark.slow
@settings(
    max_examples=_max_batches(),
    deadline=None,
    # no shrinking: it re-asks libvirt for whole batches for minutes, and the failing domain is
    # saved (and named in the message) as it was generated anyway
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
@given(data=st.data())
def test_same_addresses_as_libvirt(
    libvirt: str, data: st.DataObject, oracle: Path, assign_main
) -> None:
    batch = data.draw(batches(libvirt), label="batch")
    with tempfile.TemporaryDirectory(prefix="virtaddr-diff-") as tmp:
        accepted, rejected, failures = check_domains(batch, Path(tmp), assign_main, libvirt)
    STATS["accepted"] += accepted
    STATS["rejected"] += len(rejected)
    for message in rejected.values():
        event(f"libvirt rejected: {message[:80]}")
    if not accepted:
        reject()
    assert not failures, differences_report(libvirt, failures)


def differences_report(libvirt: str, failures: list[str]) -> str:
    """The assertion message of a batch with ``failures``: each, and how to make it a fixture."""
    return (
        f"differences from libvirt {libvirt}; make each a fixture with\n"
        f"  tests/oracle/record_fixtures.py --libvirt {libvirt} --import diff-NAME=PATH.in.xml\n\n"
        + "\n\n".join(failures)
    )


# ---------------------------------------------------------------------------- script


def _generate(count: int, libvirt: str = "9.0") -> list[str]:
    import warnings

    from hypothesis.errors import NonInteractiveExampleWarning

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    texts: list[str] = []
    while len(texts) < count:
        texts += batches(libvirt).example()
    return [re.sub(r"<name>[^<]*</name>", f"<name>m{i:05d}</name>", t, count=1)
            for i, t in enumerate(texts[:count])]  # fmt: skip


def hunt(count: int, libvirt: str = "9.0", chunk: int = 200) -> int:
    """Generate ``count`` random domains and check them all against libvirt ``libvirt`` (no stop
    at the first failure)."""
    from virtaddr.cli import main

    total = accepted = 0
    failures: list[str] = []
    while total < count:
        texts = _generate(min(chunk, count - total), libvirt)
        with tempfile.TemporaryDirectory(prefix="virtaddr-hunt-") as tmp:
            n, _rejected, found = check_domains(texts, Path(tmp), main, libvirt)
        total, accepted = total + len(texts), accepted + n
        failures += found
        print(f"{total} domains, {accepted} accepted by libvirt, {len(failures)} different",
              file=sys.stderr)  # fmt: skip
    for f in failures:
        print(f, end="\n\n")
    return 1 if failures else 0


def _controllers(text: str) -> set[tuple[str, str]]:
    """(type, index) of the controllers written with both."""
    return set(re.findall(r"<controller type='([^']*)' index='(\d+)'", text))


def _usb_kinds(text: str) -> set[str]:
    """The element names of the devices with a USB address (hubs aside)."""
    from lxml import etree

    devices = etree.fromstring(text.encode()).find("devices")
    return {
        str(d.tag)
        for d in (devices if devices is not None else [])
        if d.find("address[@type='usb']") is not None and d.tag != "hub"
    }


def measure(count: int, save: Path | None = None, libvirt: str = "9.0") -> int:
    """Generate ``count`` domains and report how many libvirt ``libvirt`` accepts (no virtaddr
    needed); ``save``: a directory to keep the rejected domains in, with libvirt's message."""
    renamed = _generate(count, libvirt)
    with tempfile.TemporaryDirectory(prefix="virtaddr-measure-") as tmp:
        accepted, rejected = ask_libvirt(renamed, Path(tmp), libvirt)
        q35 = sum(is_q35(m.group(1)) for t in renamed
                  if (m := re.search(r"machine='([^']*)'", t)))  # fmt: skip
        bridged = 0
        kinds: Counter[str] = Counter()  # accepted domains that have at least one ...
        for name, path in accepted.items():
            out = path.read_text()
            given_text = renamed[int(name[1:])]
            bridged += "model='pci-bridge'" in out or out.count("pcie-root-port'") > 4
            for atype in ("drive", "usb", "virtio-serial", "ccid", "dimm"):
                kinds[f"{atype} address"] += f"<address type='{atype}'" in out
            kinds["hub added by libvirt"] += out.count("<hub ") > given_text.count("<hub ")
            kinds[">1 virtio-serial controller"] += out.count("type='virtio-serial' index=") > 1
            kinds["scsi hostdev"] += "type='scsi' managed" in out
            kinds["multifunction"] += "multifunction='on'" in out
            added = _controllers(out) - _controllers(given_text)
            kinds["scsi/sata/virtio-serial controller added"] += any(
                t in ("scsi", "sata", "virtio-serial") for t, _ in added
            )
            kinds[">=3 kinds of USB device"] += len(_usb_kinds(out)) >= 3
        # the domains the other version answers differently (what the version rules are for)
        others = [v for v in ORACLE_VERSIONS if v != libvirt]
        for other in others:
            Path(tmp, other).mkdir()
            theirs, _ = ask_libvirt(
                [renamed[int(n[1:])] for n in accepted], Path(tmp, other), other
            )
            differ = sum(
                bool(compare_files(theirs[n], accepted[n], compare_script())) for n in theirs
            )
            kinds[f"other addresses from {other}"] += differ
    print(f"domains: {len(renamed)}, q35: {q35}, accepted: {len(accepted)} "
          f"({100 * len(accepted) / len(renamed):.1f}%), rejected: {len(rejected)}; "
          f"accepted with a grown topology (pci-bridge or >4 root ports): {bridged}")  # fmt: skip
    print("accepted domains with: " + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    for message, n in Counter(rejected.values()).most_common():
        print(f"  {n:4}  {message}")
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        for name, message in rejected.items():
            (save / f"{name}.xml").write_text(f"<!-- {message} -->\n" + renamed[int(name[1:])])
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(
        description="measure the generator's libvirt acceptance rate, or hunt for differences"
    )
    ap.add_argument("--measure", type=int, default=500, metavar="N")
    ap.add_argument("--save-rejected", type=Path, metavar="DIR")
    ap.add_argument("--hunt", type=int, metavar="N", help="check N random domains, all of them")
    ap.add_argument("--libvirt", choices=ORACLE_VERSIONS, default="9.0", help="which daemon")
    args = ap.parse_args()
    if args.hunt:
        sys.exit(hunt(args.hunt, args.libvirt))
    sys.exit(measure(args.measure, args.save_rejected, args.libvirt))
