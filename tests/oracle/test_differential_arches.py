"""Differential test against the live libvirt for other architectures: aarch64 ``virt`` (PCIe, and
virtio-mmio when a device asks for it), ppc64 ``pseries`` (spapr-vio, PHBs) and s390x
``s390-ccw-virtio`` (CCW, zPCI).

Same machinery as ``test_differential.py`` (one ``libvirt-assign`` call per batch of ``BATCH``
domains, then our assign in-process and compare-addresses --controller-details), with random
domains of these machines. Explicit addresses of each machine's kinds (PCI slots, spapr-vio regs,
CCW devnos, zPCI uid/fid) appear on about a third of the devices that can take them; every fifth
domain is big enough to make libvirt grow the topology (root ports, PHBs, pci-bridges).

Like ``test_differential.py`` it runs once per libvirt version of the oracle (9.0 and 11.3, our
assign with the same ``--libvirt``), each with half the batches, and skips a version whose daemon
is absent. The number of batches follows the profile so that the ``ci`` profile runs at least 300
domains in all: ``max(ceil(150 / BATCH), max_examples // 8)`` per version. Needs the daemons set
up with ``--all-arches``.

    CI=true .venv/bin/python -m pytest tests/oracle/test_differential_arches.py
    .venv/bin/python tests/oracle/test_differential_arches.py --measure 300 [--libvirt 11.3]
    .venv/bin/python tests/oracle/test_differential_arches.py --hunt 1000 --libvirt 11.3
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, reject, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ when run as a script

from addrcompare import compare_files
from domainxml import channel, controller, disk, domain, filesystem, hostdev, interface, pci, simple
from oracle.test_differential import ask_libvirt, differences_report, save_counterexample
from parity import ORACLE_VERSIONS, compare_script

BATCH = 10
MIN_DOMAINS = 300  # in all: half on each libvirt version
# (arch, machine); aarch64 twice as often, with a virtio-mmio variant
MACHINES = [
    ("aarch64", "virt"),
    ("aarch64", "virt"),
    ("aarch64", "virt-mmio"),
    ("ppc64", "pseries"),
    ("ppc64", "pseries"),
    ("s390x", "s390-ccw-virtio"),
    ("s390x", "s390-ccw-virtio"),
]
STATS: Counter[str] = Counter()
# explicit CCW devnos, spapr-vio regs and zPCI uids the generator picks from
DEVNOS = [*range(12), 0x100, 0xFFFF]
REGS = [0x1000, 0x2000, 0x3000, 0x5000, 0x30000000, 0x30001000, 0x20000000]
UIDS = [1, 2, 3, 5, 8, 0x20, 0xFFFF]


def drive_name(prefix: str, index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def ccw(devno: int, cssid: int = 0xFE, ssid: int = 0) -> str:
    return f"<address type='ccw' cssid='{cssid:#x}' ssid='{ssid:#x}' devno='{devno:#06x}'/>"


def spapr(reg: int | None = None) -> str:
    return f"<address type='spapr-vio' reg='{reg:#x}'/>" if reg is not None else (
        "<address type='spapr-vio'/>"
    )  # fmt: skip


def zpci_address(slot: int | None, uid: int | None, fid: int | None) -> str:
    ids = "".join(f" {k}='{v:#x}'" for k, v in (("uid", uid), ("fid", fid)) if v is not None)
    base = pci(slot)[:-2] + ">" if slot is not None else "<address type='pci'>"
    return f"{base}<zpci{ids}/></address>" if ids else base[:-1] + "/>"


@dataclass
class _Builder:
    family: str  # virt, mmio, pseries, s390
    slots: list[int]
    devnos: list[int]
    regs: list[int]
    uids: list[int]
    devices: list[str] = field(default_factory=list)
    vd: int = 0
    sd: int = 0
    fs: int = 0
    hostdevs: int = 0
    channels: int = 0
    serials: int = 0
    scsi: int = 0
    video: bool = False
    usb: bool = False
    nvram: bool = False
    watchdog: bool = False

    def address(self, draw: st.DrawFn, virtio: bool = True) -> str | None:
        """An explicit address of the machine's kind for about a third of the devices."""
        if draw(st.integers(0, 2)) != 2:
            return None
        if self.family == "s390":
            if virtio and self.devnos:
                return ccw(self.devnos.pop())
            if not virtio and self.slots:
                uid = self.uids.pop() if self.uids and draw(st.booleans()) else None
                return zpci_address(self.slots.pop(), uid, None)
            return None
        if self.family == "mmio" and virtio and draw(st.booleans()):
            return "<address type='virtio-mmio'/>"
        if self.family == "pseries" and self.slots:
            return pci(self.slots.pop())
        return None


def _device(draw: st.DrawFn, b: _Builder, kinds: list[str]) -> None:
    kind = draw(st.sampled_from(kinds))
    if kind == "virtio-disk":
        b.devices.append(disk(drive_name("vd", b.vd), "virtio", b.address(draw)))
        b.vd += 1
    elif kind == "scsi-disk":
        b.devices.append(disk(drive_name("sd", b.sd), "scsi"))
        b.sd += 1
    elif kind == "interface":
        models = ["virtio", "virtio", None, "e1000"]
        if b.family == "pseries":
            models += ["spapr-vlan", "rtl8139"]
        model = draw(st.sampled_from(models))
        virtio = model in ("virtio", None) and b.family != "pseries"
        address = b.address(draw, virtio=virtio)
        if model == "spapr-vlan":
            address = spapr(b.regs.pop()) if b.regs and draw(st.booleans()) else None
        b.devices.append(interface(model, address))
    elif kind == "rng":
        backend = "<backend model='random'>/dev/urandom</backend>"
        b.devices.append(simple("rng", " model='virtio'", backend, b.address(draw)))
    elif kind == "video":
        if not b.video:
            b.video = True
            model = "vga" if b.family == "pseries" and draw(st.booleans()) else "virtio"
            body = f"<model type='{model}'/>"
            b.devices.append(simple("video", "", body, b.address(draw, model == "virtio")))
    elif kind == "channel":
        b.devices.append(channel(f"org.virtaddr.{b.channels}"))
        b.channels += 1
    elif kind == "input-virtio":
        itype = draw(st.sampled_from(["tablet", "keyboard", "mouse"]))
        b.devices.append(simple("input", f" type='{itype}' bus='virtio'", b.address(draw)))
    elif kind == "input-usb":
        if b.usb:
            b.devices.append(simple("input", " type='tablet' bus='usb'"))
    elif kind == "hostdev":
        b.devices.append(hostdev(0xF0 + b.hostdevs, address=b.address(draw, virtio=False)))
        b.hostdevs += 1
    elif kind == "filesystem":
        b.devices.append(filesystem(f"share{b.fs}", b.address(draw)))
        b.fs += 1
    elif kind == "serial":
        address = None
        if b.family == "pseries" and draw(st.integers(0, 2)) == 2:
            address = spapr(b.regs.pop()) if b.regs else None
        b.devices.append(simple("serial", " type='pty'", address))
        b.serials += 1
    elif kind == "e1000":
        b.devices.append(interface("e1000", b.address(draw, virtio=False)))
    elif kind == "watchdog":
        if b.watchdog:
            return
        b.watchdog = True
        b.devices.append(simple("watchdog", " model='i6300esb'", b.address(draw, virtio=False)))
    elif kind == "nvram":
        if not b.nvram:
            b.nvram = True
            b.devices.append(simple("nvram", "", spapr(b.regs.pop()) if b.regs else None))
    elif kind == "ibmvscsi":
        address = spapr(b.regs.pop()) if b.regs and draw(st.booleans()) else None
        b.devices.append(controller("scsi", "ibmvscsi", None, address))
    else:  # pragma: no cover
        raise AssertionError(kind)


_KINDS = {
    "virt": ["virtio-disk", "virtio-disk", "interface", "interface", "scsi-disk", "rng", "video",
             "channel", "input-virtio", "input-usb", "hostdev", "filesystem", "serial",
             "watchdog", "e1000"],
    "pseries": ["virtio-disk", "virtio-disk", "interface", "interface", "scsi-disk", "rng",
                "video", "channel", "input-virtio", "input-usb", "hostdev", "serial", "serial",
                "nvram", "ibmvscsi", "watchdog"],
    "s390": ["virtio-disk", "virtio-disk", "interface", "interface", "scsi-disk", "rng",
             "video", "channel", "input-virtio", "hostdev", "filesystem", "e1000"],
}  # fmt: skip


@st.composite
def domains(draw: st.DrawFn, name: str, big: bool = False) -> str:
    """One random domain of one of :data:`MACHINES`, as XML text."""
    arch, machine = draw(st.sampled_from(MACHINES))
    family = {"virt": "virt", "virt-mmio": "mmio", "pseries": "pseries"}.get(machine, "s390")
    slots = list(range(1, 0x20))
    b = _Builder(
        family,
        draw(st.permutations(slots)),
        draw(st.permutations(DEVNOS)),
        draw(st.permutations(REGS)),
        draw(st.permutations(UIDS)),
    )
    if family == "mmio":
        b.devices.append(disk(drive_name("vd", 700), "virtio", "<address type='virtio-mmio'/>"))
    if family != "s390" and draw(st.integers(0, 3)) > 0:
        b.usb = True
        model = draw(st.sampled_from([None, None, "qemu-xhci"]))
        b.devices.append(controller("usb", model, 0, b.address(draw, virtio=False)))
    elif family == "pseries":
        b.devices.append(controller("usb", "none", 0))
    scsi = draw(st.sampled_from([None, None, "default", "virtio-scsi"]))
    if scsi:
        model = None if scsi == "default" else scsi
        b.devices.append(controller("scsi", model, 0, b.address(draw)))
    if draw(st.integers(0, 4)) == 4:
        b.devices.append(controller("virtio-serial", None, 0, b.address(draw)))
    balloon = draw(st.sampled_from(["default", "default", "none", "explicit"]))
    if balloon == "none":
        b.devices.append(simple("memballoon", " model='none'"))
    elif balloon == "explicit":
        b.devices.append(simple("memballoon", " model='virtio'", b.address(draw)))
    if draw(st.booleans()):
        b.devices.append(simple("graphics", " type='vnc'"))
    if draw(st.integers(0, 3)) == 3:
        b.devices.append(simple("console", " type='pty'"))
    kinds = _KINDS["s390" if family == "s390" else "pseries" if family == "pseries" else "virt"]
    if big:
        grow = {"s390": "e1000", "pseries": "virtio-disk"}.get(family, "virtio-disk")
        for _ in range(draw(st.integers(25, 36))):
            _device(draw, b, [grow])
        count = draw(st.integers(0, 4))
    else:
        count = draw(st.integers(0, 12))
    for _ in range(count):
        _device(draw, b, kinds)
    return domain(name, "virt" if family == "mmio" else machine, b.devices, arch=arch)


@st.composite
def batches(draw: st.DrawFn) -> list[str]:
    """BATCH domains; every fifth one big enough to make libvirt grow the PCI topology."""
    return [draw(domains(f"arch-{i:02d}", big=i % 5 == 0)) for i in range(BATCH)]


Main = Callable[[list[str]], int]  # virtaddr.cli.main


@pytest.fixture(scope="session")
def assign_main() -> Main:
    from virtaddr.cli import main

    return main


def _max_batches() -> int:
    """Per libvirt version: half of what one version alone would run."""
    per_version = MIN_DOMAINS // len(ORACLE_VERSIONS)
    return max(math.ceil(per_version / BATCH), settings.default.max_examples // 8)


def check_batch(batch: list[str], work: Path, main: Main, libvirt: str) -> tuple[int, list[str]]:
    """Ask libvirt ``libvirt`` about ``batch``, compare ours: (domains accepted, failures), each
    failing domain saved."""
    by_name = {re.search(r"<name>([^<]*)</name>", t).group(1): t for t in batch}  # type: ignore[union-attr]
    accepted, rejected = ask_libvirt(batch, work, libvirt)
    STATS["accepted"] += len(accepted)
    STATS["rejected"] += len(rejected)
    failures = []
    for name, libvirt_xml in accepted.items():
        ours = work / f"ours-{name}.xml"
        code = main(
            ["assign", "--libvirt", libvirt, str(work / "in" / f"{name}.xml"), "-o", str(ours)]
        )
        if code != 0:
            problems = [f"our assign exited {code}; libvirt accepts the domain"]
        else:
            problems = compare_files(libvirt_xml, ours, compare_script())
        if problems:
            saved = save_counterexample(by_name[name], libvirt_xml, libvirt=libvirt)
            failures.append(f"{name} (saved as {saved}):\n  " + "\n  ".join(problems[:8]))
    for name, message in rejected.items():  # libvirt refuses: ours must refuse too (exit 1)
        STATS[f"libvirt rejected: {message[:80]}"] += 1
        code = main(
            [
                "assign",
                "--libvirt",
                libvirt,
                str(work / "in" / f"{name}.xml"),
                "-o",
                str(work / "x.xml"),
            ]
        )
        if code != 1:
            saved = save_counterexample(by_name[name], None, message, libvirt)
            failures.append(
                f"{name} (saved as {saved}): libvirt rejects ({message}), our exit {code}"
            )
    return len(accepted), failures


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
@pytest.mark.parametrize("libvirt", ORACLE_VERSIONS)
@given(batch=batches())
def test_same_addresses_as_libvirt_other_arches(
    libvirt: str, batch: list[str], oracle: Path, assign_main: Main
) -> None:
    with tempfile.TemporaryDirectory(prefix="virtaddr-diff-arches-") as tmp:
        accepted, failures = check_batch(batch, Path(tmp), assign_main, libvirt)
    event(f"accepted by libvirt {libvirt}: {accepted}/{len(batch)}")
    if not accepted:
        reject()
    assert not failures, differences_report(libvirt, failures)


def _generate(count: int) -> list[str]:
    import warnings

    from hypothesis.errors import NonInteractiveExampleWarning

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    texts: list[str] = []
    while len(texts) < count:
        texts += batches().example()
    return [re.sub(r"<name>[^<]*</name>", f"<name>m{i:05d}</name>", t, count=1)
            for i, t in enumerate(texts[:count])]  # fmt: skip


def hunt(count: int, libvirt: str, chunk: int = 100) -> int:
    """Check ``count`` random domains against libvirt ``libvirt``, every failure (no stop)."""
    from virtaddr.cli import main

    total, failures = 0, []
    while total < count:
        texts = _generate(min(chunk, count - total))
        with tempfile.TemporaryDirectory(prefix="virtaddr-hunt-arches-") as tmp:
            failures += check_batch(texts, Path(tmp), main, libvirt)[1]
        total += len(texts)
        print(f"{total} domains, {len(failures)} different", file=sys.stderr)
    for f in failures:
        print(f, end="\n\n")
    return 1 if failures else 0


def measure(count: int, libvirt: str = "9.0") -> int:
    """Generate ``count`` domains and report how many libvirt ``libvirt`` accepts (no virtaddr
    needed)."""
    renamed = _generate(count)
    with tempfile.TemporaryDirectory(prefix="virtaddr-measure-") as tmp:
        accepted, rejected = ask_libvirt(renamed, Path(tmp), libvirt)
    print(f"domains: {len(renamed)}, accepted: {len(accepted)}, rejected: {len(rejected)}")
    for message, n in Counter(rejected.values()).most_common():
        print(f"  {n:4}  {message}")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(
        description="measure the generator's libvirt acceptance rate, or hunt for differences"
    )
    ap.add_argument("--measure", type=int, default=300, metavar="N")
    ap.add_argument("--hunt", type=int, metavar="N", help="check N random domains, all of them")
    ap.add_argument("--libvirt", choices=ORACLE_VERSIONS, default="9.0", help="which daemon")
    args = ap.parse_args()
    if args.hunt:
        sys.exit(hunt(args.hunt, args.libvirt))
    sys.exit(measure(args.measure, args.libvirt))
