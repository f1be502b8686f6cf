"""Differential test against the live libvirt: random x86_64 domains, libvirt's addresses vs ours.

Each hypothesis example is a batch of ``BATCH`` random domains (pc and q35 machines, many device
kinds, explicit PCI addresses on about a third of the PCI devices, every fifth domain big enough
that libvirt must grow the topology). One ``libvirt-assign --out DIR ...`` call answers the whole
batch; domains libvirt rejects drop out of the batch (a batch with none accepted is rejected), then
our assign runs in-process on each accepted one and the oracle's compare-addresses logic (loaded
from ``$ORACLE/compare-addresses``, with --controller-details) compares the two.

The number of batches follows the profile so that the ``ci`` profile runs at least 500 domains:
``max(ceil(500 / BATCH), max_examples // 4)``.

    CI=true .venv/bin/python -m pytest tests/oracle/test_differential.py        # >= 500 domains
    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/oracle -x       # hunting
    .venv/bin/python tests/oracle/test_differential.py --measure 500   # generator acceptance rate

Counterexamples: every failing domain is saved as ``NAME.in.xml`` (with libvirt's answer as
``NAME.out.xml``) under ``$VIRTADDR_COUNTEREXAMPLES`` (default:
``$TMPDIR/virtaddr-counterexamples``), and the failure message says where. Make each one a
fixed case with

    .venv/bin/python tests/oracle/record_fixtures.py --import diff-SHORT-NAME=PATH/NAME.in.xml

(which re-asks libvirt and writes ``fixtures/diff-SHORT-NAME.{in,out}.xml``); then
``tests/test_fixtures.py`` keeps checking it offline.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ when run as a script

from addrcompare import compare_files
from domainxml import (
    channel,
    controller,
    disk,
    domain,
    filesystem,
    hostdev,
    interface,
    pci,
    simple,
    usb_ich9_set,
)
from parity import compare_script, oracle_dir

BATCH = 10
MIN_DOMAINS = 500
MACHINES = ["pc", "pc", "pc-i440fx-7.2", None, "q35", "q35", "q35", "q35", "q35", "pc-q35-7.2"]
NIC_MODELS = ["virtio", "e1000", "e1000e", "rtl8139", "virtio-transitional"]
VIDEO_MODELS = ["cirrus", "vga", "qxl", "virtio"]
SOUND_MODELS = ["ich6", "ich9", "ac97"]
STATS: Counter[str] = Counter()  # accepted / rejected / rejection messages, for --measure


def is_q35(machine: str | None) -> bool:
    return machine is not None and (machine == "q35" or machine.startswith("pc-q35-"))


def drive_name(prefix: str, index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


@dataclass
class _Builder:
    """State while drawing one domain: names in use, free explicit slots, what exists once."""

    q35: bool
    slots: list[int]
    devices: list[str] = field(default_factory=list)
    vd: int = 0
    sd: int = 0
    hd: int = 0
    hostdevs: int = 0
    fs: int = 0
    channels: int = 0
    video: bool = False
    watchdog: bool = False

    def address(self, draw: st.DrawFn) -> str | None:
        """An explicit bus-0 PCI address for about a third of the devices (distinct slots)."""
        if self.slots and draw(st.integers(0, 2)) == 2:
            return pci(self.slots.pop())
        return None


def _device(draw: st.DrawFn, b: _Builder, usb: bool, kinds: list[str]) -> None:
    kind = draw(st.sampled_from(kinds))
    if kind == "virtio-disk":
        model = draw(st.sampled_from([None, None, None, "virtio-transitional"]))
        b.devices.append(disk(drive_name("vd", b.vd), "virtio", b.address(draw), model))
        b.vd += 1
    elif kind in ("sata-disk", "scsi-disk", "usb-disk"):
        bus = kind.split("-")[0]
        if bus == "usb" and not usb:
            bus = "scsi"
        b.devices.append(disk(drive_name("sd", b.sd), bus))
        b.sd += 1
    elif kind == "ide-disk":
        if b.hd < 4:
            b.devices.append(disk(drive_name("hd", b.hd), "ide"))
            b.hd += 1
    elif kind == "interface":
        model = draw(st.sampled_from(NIC_MODELS))
        b.devices.append(interface(model, b.address(draw)))
    elif kind == "sound":
        model = draw(st.sampled_from(SOUND_MODELS))
        b.devices.append(simple("sound", f" model='{model}'", b.address(draw)))
    elif kind == "video":
        if not b.video:
            b.video = True
            model = draw(st.sampled_from(VIDEO_MODELS))
            b.devices.append(simple("video", "", f"<model type='{model}'/>", b.address(draw)))
    elif kind == "rng":
        backend = "<backend model='random'>/dev/urandom</backend>"
        b.devices.append(simple("rng", " model='virtio'", backend, b.address(draw)))
    elif kind == "watchdog":
        if not b.watchdog:
            b.watchdog = True
            b.devices.append(simple("watchdog", " model='i6300esb'", b.address(draw)))
    elif kind == "channel":
        b.devices.append(channel(f"org.virtaddr.{b.channels}"))
        b.channels += 1
    elif kind == "input-virtio":
        itype = draw(st.sampled_from(["tablet", "keyboard", "mouse"]))
        b.devices.append(simple("input", f" type='{itype}' bus='virtio'", b.address(draw)))
    elif kind == "input-usb":
        if usb:
            b.devices.append(simple("input", " type='tablet' bus='usb'"))
    elif kind == "hostdev":
        b.devices.append(hostdev(0xF0 + b.hostdevs, address=b.address(draw)))
        b.hostdevs += 1
    elif kind == "filesystem":
        b.devices.append(filesystem(f"share{b.fs}", b.address(draw)))
        b.fs += 1
    else:  # pragma: no cover
        raise AssertionError(kind)


@st.composite
def domains(draw: st.DrawFn, name: str, big: bool = False) -> str:
    """One random x86_64 domain of type qemu, as XML text."""
    machine = draw(st.sampled_from(MACHINES))
    q35 = is_q35(machine)
    slots = list(range(1, 0x1F)) if q35 else list(range(2, 0x20))
    b = _Builder(q35, draw(st.permutations(slots)))

    # controllers decided up front
    usb_choice = draw(st.sampled_from(["default", "default", "piix3-uhci", "qemu-xhci", "ich9"]))
    if usb_choice == "ich9":
        b.devices += usb_ich9_set(0)
    elif usb_choice == "qemu-xhci":
        b.devices.append(controller("usb", "qemu-xhci", 0, b.address(draw)))
    elif usb_choice == "piix3-uhci":
        b.devices.append(controller("usb", "piix3-uhci", 0))
    scsi = draw(st.sampled_from([None, None, "lsilogic", "virtio-scsi"]))
    if scsi:
        b.devices.append(controller("scsi", scsi, 0, b.address(draw)))
    if draw(st.integers(0, 4)) == 4:
        b.devices.append(controller("virtio-serial", None, 0, b.address(draw)))
    bridges = draw(st.sampled_from([0, 0, 0, 0, 1, 2]))
    for i in range(1, bridges + 1):
        model = "pcie-root-port" if q35 else "pci-bridge"
        b.devices.append(controller("pci", model, i, b.address(draw)))
    balloon = draw(st.sampled_from(["default", "default", "default", "none", "explicit"]))
    if balloon == "none":
        b.devices.append(simple("memballoon", " model='none'"))
    elif balloon == "explicit":
        b.devices.append(simple("memballoon", " model='virtio'", b.address(draw)))
    if draw(st.booleans()):
        b.devices.append(simple("graphics", " type='vnc'"))

    kinds = ["virtio-disk", "virtio-disk", "interface", "interface", "sata-disk", "scsi-disk",
             "usb-disk", "sound", "video", "rng", "watchdog", "channel", "input-virtio",
             "input-usb", "hostdev", "filesystem"]  # fmt: skip
    if not q35:
        kinds.append("ide-disk")
    usb = True
    if big and not q35:
        for _ in range(draw(st.integers(30, 40))):
            _device(draw, b, usb, ["virtio-disk"])
        count = draw(st.integers(0, 4))
    elif big:
        count = draw(st.integers(10, 30))
    else:
        count = draw(st.integers(0, 12))
    for _ in range(count):
        _device(draw, b, usb, kinds)
    return domain(name, machine, b.devices)


@st.composite
def batches(draw: st.DrawFn) -> list[str]:
    """BATCH domains; every fifth one big enough to make libvirt grow the PCI topology."""
    return [draw(domains(f"diff-{i:02d}", big=i % 5 == 0)) for i in range(BATCH)]


# ---------------------------------------------------------------------------- running


def ask_libvirt(texts: list[str], workdir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """One libvirt-assign call: ({name: libvirt's XML}, {name: libvirt's rejection})."""
    src, out = workdir / "in", workdir / "libvirt"
    src.mkdir()
    names = []
    for text in texts:
        name = re.search(r"<name>([^<]*)</name>", text).group(1)  # type: ignore[union-attr]
        (src / f"{name}.xml").write_text(text)
        names.append(name)
    proc = subprocess.run(
        [str(oracle_dir() / "libvirt-assign"), "--out", str(out), str(src)],
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


def counterexample_dir() -> Path:
    env = os.environ.get("VIRTADDR_COUNTEREXAMPLES")
    path = Path(env) if env else Path(tempfile.gettempdir()) / "virtaddr-counterexamples"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_counterexample(text: str, libvirt_xml: Path) -> Path:
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    base = counterexample_dir() / f"diff-{digest}"
    base.with_suffix(".in.xml").write_text(text)
    base.with_suffix(".out.xml").write_text(libvirt_xml.read_text())
    return base.with_suffix(".in.xml")


@pytest.fixture(scope="session")
def assign_main():
    """Our CLI entry point; importing it here makes a missing pass one error, not a shrink run."""
    from virtaddr.cli import main

    return main


def _max_batches() -> int:
    return max(math.ceil(MIN_DOMAINS / BATCH), settings.default.max_examples // 4)


@pytest.mark.oracle
@pytest.mark.slow
@settings(
    max_examples=_max_batches(),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
@given(batch=batches())
def test_same_addresses_as_libvirt(batch: list[str], oracle: Path, assign_main) -> None:
    main = assign_main
    by_name = {re.search(r"<name>([^<]*)</name>", t).group(1): t for t in batch}  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="virtaddr-diff-") as tmp:
        work = Path(tmp)
        accepted, rejected = ask_libvirt(batch, work)
        STATS["accepted"] += len(accepted)
        STATS["rejected"] += len(rejected)
        for message in rejected.values():
            event(f"libvirt rejected: {message[:80]}")
        if not accepted:
            reject()
        failures = []
        for name, libvirt_xml in accepted.items():
            ours = work / f"ours-{name}.xml"
            code = main(["assign", str(work / "in" / f"{name}.xml"), "-o", str(ours)])
            if code != 0:
                problems = [f"our assign exited {code}; libvirt accepts the domain"]
            else:
                problems = compare_files(libvirt_xml, ours, compare_script())
            if problems:
                saved = save_counterexample(by_name[name], libvirt_xml)
                failures.append(f"{name} (saved as {saved}):\n  " + "\n  ".join(problems[:8]))
    assert not failures, (
        "differences from libvirt; make each a fixture with\n"
        "  tests/oracle/record_fixtures.py --import diff-NAME=PATH.in.xml\n\n"
        + "\n\n".join(failures)
    )


# ---------------------------------------------------------------------------- script


def measure(count: int) -> int:
    """Generate ``count`` domains and report how many libvirt accepts (no virtaddr needed)."""
    import warnings

    from hypothesis.errors import NonInteractiveExampleWarning

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    texts: list[str] = []
    while len(texts) < count:
        texts += batches().example()
    texts = texts[:count]
    renamed = [re.sub(r"<name>[^<]*</name>", f"<name>m{i:05d}</name>", t, count=1)
               for i, t in enumerate(texts)]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="virtaddr-measure-") as tmp:
        accepted, rejected = ask_libvirt(renamed, Path(tmp))
        q35 = sum(is_q35(m.group(1)) for t in renamed
                  if (m := re.search(r"machine='([^']*)'", t)))  # fmt: skip
        bridged = 0
        for path in accepted.values():
            out = path.read_text()
            bridged += "model='pci-bridge'" in out or out.count("pcie-root-port'") > 4
    print(f"domains: {len(renamed)}, q35: {q35}, accepted: {len(accepted)} "
          f"({100 * len(accepted) / len(renamed):.1f}%), rejected: {len(rejected)}; "
          f"accepted with a grown topology (pci-bridge or >4 root ports): {bridged}")  # fmt: skip
    for message, n in Counter(rejected.values()).most_common():
        print(f"  {n:4}  {message}")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="measure the generator's libvirt acceptance rate")
    ap.add_argument("--measure", type=int, default=500, metavar="N")
    sys.exit(measure(ap.parse_args().measure))
