"""Random (domain, devices) cases for ``virtaddr plan`` and how to ask libvirt about them.

Shared by ``test_plan_differential.py`` (random cases against the live libvirt) and
``record_plan_fixtures.py`` (fixed cases under ``fixtures/plan/``). A case is a domain, the texts of
one or more device elements and whether they are detached instead of attached.

A fixture is a directory ``fixtures/plan/NAME/`` holding ``domain.xml``, ``device-1.xml``,
``device-2.xml``, ..., an empty file ``detach`` for a detach case, and libvirt's answer:
``libvirt.xml`` (the stored domain) or ``libvirt.err`` (its message, one line).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: domainxml, parity

from domainxml import channel, controller, disk, domain, simple
from parity import oracle_dir

NIC_MODELS = [None, "virtio", "e1000", "e1000e", "rtl8139"]
INPUTS = ["tablet", "mouse", "keyboard"]
WORKERS = 8


@dataclass(frozen=True)
class PlanCase:
    domain: str
    devices: tuple[str, ...]
    detach: bool = False

    def write(self, directory: Path) -> tuple[Path, list[Path]]:
        """Write the case's files into ``directory`` (created); return (domain, devices)."""
        directory.mkdir(parents=True, exist_ok=True)
        dom = directory / "domain.xml"
        dom.write_text(self.domain)
        devices = []
        for i, text in enumerate(self.devices, 1):
            path = directory / f"device-{i}.xml"
            path.write_text(text + "\n")
            devices.append(path)
        if self.detach:
            (directory / "detach").write_text("")
        return dom, devices

    @classmethod
    def read(cls, directory: Path) -> PlanCase:
        devices = sorted(directory.glob("device-*.xml"), key=lambda p: int(p.stem.split("-")[1]))
        return cls(
            (directory / "domain.xml").read_text(),
            tuple(p.read_text().rstrip("\n") for p in devices),
            (directory / "detach").is_file(),
        )


def plan_argv(directory: Path) -> list[str]:
    """The ``virtaddr plan`` arguments (after ``plan``) for a case written into ``directory``."""
    devices = sorted(directory.glob("device-*.xml"), key=lambda p: int(p.stem.split("-")[1]))
    detach = ["--detach"] if (directory / "detach").is_file() else []
    return [*detach, str(directory / "domain.xml"), *map(str, devices)]


@dataclass(frozen=True)
class Answer:
    """libvirt's answer: the stored XML, or its message when it refused (``refused_domain``:
    the domain itself, not a device)."""

    xml: str | None
    error: str | None
    refused_domain: bool = False


def ask_libvirt(directories: Iterable[Path], libvirt: str = "9.0") -> list[Answer]:
    """Run ``libvirt-attach --libvirt VERSION`` once per written case, several at a time."""
    script = str(oracle_dir() / "libvirt-attach")

    def one(directory: Path) -> Answer:
        proc = subprocess.run(
            [script, "--libvirt", libvirt, *plan_argv(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            return Answer(proc.stdout, None)
        if proc.returncode != 1:
            raise RuntimeError(f"libvirt-attach failed ({proc.returncode}): {proc.stderr.strip()}")
        message = proc.stderr.strip().splitlines()[-1]
        path, _, text = message.partition(": ")
        return Answer(None, text, refused_domain=path.endswith("domain.xml"))

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, list(directories)))


# ---------------------------------------------------------------------------- generation


def _name(prefix: str, index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def _interface(model: str | None, mac: int) -> str:
    body = [f"<mac address='52:54:00:00:00:{mac:02x}'/>"]
    if model:
        body.append(f"<model type='{model}'/>")
    return simple("interface", " type='user'", *body)


@dataclass
class _Names:
    vd: int = 0
    sd: int = 0
    mac: int = 0
    channel: int = 0
    existing: list[str] = field(default_factory=list)  # detachable devices of the domain


def _one_device(draw: st.DrawFn, n: _Names, q35: bool, kinds: list[str]) -> str:
    kind = draw(st.sampled_from(kinds))
    if kind == "virtio-disk":
        text = disk(_name("vd", n.vd), "virtio")
        n.vd += 1
    elif kind in ("scsi-disk", "sata-disk"):
        text = disk(_name("sd", n.sd), kind.split("-")[0])
        n.sd += 1
    elif kind == "interface":
        text = _interface(draw(st.sampled_from(NIC_MODELS)), n.mac)
        n.mac += 1
    elif kind == "channel":
        text = channel(f"org.virtaddr.{n.channel}")
        n.channel += 1
    elif kind == "input":
        text = simple("input", f" type='{draw(st.sampled_from(INPUTS))}' bus='usb'")
    elif kind == "sound":
        text = simple("sound", f" model='{draw(st.sampled_from(['ich9', 'ich6', 'ac97']))}'")
    elif kind == "usb-sound":
        text = simple("sound", " model='usb'")
    elif kind == "usb-net":
        text = simple("interface", " type='user'", "<model type='usb-net'/>")
    elif kind == "watchdog":
        # q35 has an itco watchdog in 11.3; ib700 is for i440fx only (11.3); 9.0 knows no itco
        model = draw(st.sampled_from(["i6300esb", "i6300esb", "ib700", "itco"]))
        action = draw(st.sampled_from(["reset", "reset", "poweroff"]))
        text = simple("watchdog", f" model='{model}' action='{action}'")
    elif kind == "controller":
        choice = draw(st.integers(0, 5))
        if choice == 0:
            text = controller("scsi", draw(st.sampled_from(["virtio-scsi", "lsilogic", None])))
        elif choice == 1:
            text = controller("usb", "qemu-xhci")
        elif choice == 2:
            text = controller("virtio-serial")
        elif choice == 3 and q35:
            chassis, port = draw(st.integers(20, 40)), draw(st.integers(0x20, 0x40))
            text = controller(
                "pci",
                "pcie-root-port",
                body=["<model name='pcie-root-port'/>", f"<target chassis='{chassis}' "
                      f"port='{port:#x}'/>"],
            )  # fmt: skip
        elif choice == 3:
            nr = draw(st.integers(20, 40))
            text = controller(
                "pci",
                "pci-bridge",
                body=["<model name='pci-bridge'/>", f"<target chassisNr='{nr}'/>"],
            )
        elif choice == 4 and q35:
            text = controller("pci", "pcie-to-pci-bridge", body=["<model name='pcie-pci-bridge'/>"])
        else:
            text = controller("pci", "pcie-root-port" if q35 else "pci-bridge")  # options missing
    else:  # pragma: no cover
        raise AssertionError(kind)
    return text.strip()


@st.composite
def plan_cases(draw: st.DrawFn, index: int = 0, libvirt: str = "9.0") -> PlanCase:
    """One random case: a pc or q35 domain, then 1-4 devices to attach (or 1-2 to detach);
    with ``libvirt`` 11.3 also usb-net interfaces (9.0 has none)."""
    q35 = draw(st.booleans())
    machine = draw(st.sampled_from(["q35", "pc-q35-7.2"] if q35 else ["pc", "pc-i440fx-7.2"]))
    n = _Names()
    existing: list[str] = []
    if draw(st.integers(0, 5)) == 0:
        existing.append(controller("usb", "none", 0))
    if draw(st.integers(0, 5)) == 0:
        existing.append(simple("memballoon", " model='none'"))
    if draw(st.integers(0, 3)) == 0:
        existing.append(controller("scsi", draw(st.sampled_from(["virtio-scsi", "lsilogic"])), 0))
    if draw(st.integers(0, 4)) == 0:
        existing.append(controller("virtio-serial", None, 0))
    big = draw(st.integers(0, 6)) == 0
    count = draw(st.integers(20, 29) if big else st.integers(0, 6))
    base_kinds = ["virtio-disk", "scsi-disk", "sata-disk", "interface", "channel"]
    for _ in range(count):
        kinds = ["virtio-disk"] if big else base_kinds
        existing.append(_one_device(draw, n, q35, kinds))
    detachable = [d for d in existing if d.lstrip().startswith(("<disk", "<interface", "<channel",
                                                                 "<controller"))]  # fmt: skip
    usb_off = any("model='none'" in d and "type='usb'" in d for d in existing)
    detach = bool(detachable) and draw(st.integers(0, 4)) == 0
    if detach:
        picked = draw(st.lists(st.sampled_from(detachable), min_size=1, max_size=2, unique=True))
        devices = tuple(d.strip() for d in picked)
        if draw(st.integers(0, 5)) == 0:
            devices += (disk("vdzz", "virtio").strip(),)  # not there: libvirt's error
    else:
        kinds = ["virtio-disk", "virtio-disk", "scsi-disk", "sata-disk", "interface",
                 "interface", "channel", "controller", "sound", "watchdog"]  # fmt: skip
        if not usb_off:
            kinds += ["input", "usb-sound"] + (["usb-net"] if libvirt != "9.0" else [])
        count = draw(st.integers(1, 4))
        devices = tuple(_one_device(draw, n, q35, kinds) for _ in range(count))
        if draw(st.integers(0, 9)) == 0 and n.vd:
            devices += (disk("vda", "virtio").strip(),)  # a name in use
    return PlanCase(domain(f"plan-{index:02d}", machine, existing), devices, detach)
