#!/usr/bin/env python3
"""Record ``fixtures/plan/NAME/``: a (domain, devices) case and the live libvirt's answer to it.

    .venv/bin/python tests/oracle/record_plan_fixtures.py --list         # the templates
    .venv/bin/python tests/oracle/record_plan_fixtures.py                # record every template
    .venv/bin/python tests/oracle/record_plan_fixtures.py --only q35-e1000
    .venv/bin/python tests/oracle/record_plan_fixtures.py --import plan-NAME=DIR  # a counterexample
    .venv/bin/python tests/oracle/record_plan_fixtures.py --libvirt 11.3 ...  # from libvirt 11.3
    ... --force                                                          # overwrite existing ones

A case directory holds ``domain.xml``, ``device-1.xml``, ... and ``detach`` for a detach case (see
``plan_cases.py``). The script asks ``$ORACLE/libvirt-attach`` and writes its answer as
``libvirt.xml`` (the stored domain) or ``libvirt.err`` (its message). It refuses to overwrite an
existing fixture without ``--force``. ``tests/test_plan_fixtures.py`` checks them offline.
``--libvirt VERSION`` (default 9.0) asks that version's daemon (``libvirt-attach --libvirt
VERSION``) and writes into its folder: ``fixtures/plan/`` for 9.0,
``fixtures/libvirt-VERSION/plan/`` for the others (``fixtures/README.md``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plan_cases import PlanCase, ask_libvirt

from domainxml import (
    controller,
    disk,
    domain,
    filesystem,
    hostdev,
    interface,
    memory_dimm,
    scsi_hostdev,
    simple,
    usb_hostdev,
)
from parity import ORACLE_VERSIONS, fixtures_dir


def plan_dir(libvirt: str = "9.0") -> Path:
    """Where the plan cases answered by libvirt ``libvirt`` are."""
    return fixtures_dir(libvirt) / "plan"


TEMPLATES: dict[str, Callable[[], PlanCase]] = {}


def template(func: Callable[[], PlanCase]) -> Callable[[], PlanCase]:
    TEMPLATES[func.__name__.replace("_", "-")] = func
    return func


def _vd(i: int) -> str:
    letters, i = "", i + 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "vd" + letters


@template
def q35_e1000() -> PlanCase:
    """Rules §16.7 (2): root port 4 stays empty, the pcie-to-pci-bridge takes the old spare."""
    return PlanCase(domain("q35-e1000", "q35", []), (interface("e1000").strip(),))


@template
def pc_sda() -> PlanCase:
    """Rules §16.7 (3): an lsilogic controller 0 is added at 00:03.0."""
    return PlanCase(domain("pc-sda", "pc", []), (disk("sda", "scsi").strip(),))


@template
def q35_two_disks() -> PlanCase:
    """The first new disk takes the spare root port, the second adds root port 4."""
    devices = (disk("vda", "virtio").strip(), disk("vdb", "virtio").strip())
    return PlanCase(domain("q35-two-disks", "q35", []), devices)


@template
def pc_slot_1f_is_for_a_bridge() -> PlanCase:
    """Rules §16.3: with 27 disks, vdab gets 00:1e.0 and vdac a new pci-bridge at 00:1f.0."""
    existing = [disk(_vd(i), "virtio") for i in range(27)]
    devices = (disk("vdab", "virtio").strip(), disk("vdac", "virtio").strip())
    return PlanCase(domain("pc-slot-1f", "pc", existing), devices)


@template
def q35_full_root_complex() -> PlanCase:
    """Slots 2-0x1e taken: new root ports fill slot 1, then there is no slot for one more."""
    existing = [
        simple("interface", " type='user'", "<model type='e1000e'/>",
               f"<address type='pci' domain='0x0000' bus='0x00' slot='{s:#04x}' function='0x0'/>")
        for s in range(2, 0x1F)
    ]  # fmt: skip
    devices = tuple(disk(_vd(i), "virtio").strip() for i in range(7))
    return PlanCase(domain("q35-full", "q35", existing), devices)


@template
def q35_detach_then_reuse() -> PlanCase:
    """Detaching vda frees its address and nothing shifts."""
    existing = [disk("vda", "virtio"), disk("vdb", "virtio")]
    return PlanCase(domain("q35-detach", "q35", existing), (disk("vda", "virtio").strip(),), True)


@template
def pc_third_usb_input() -> PlanCase:
    """Rules §16.4: the third USB device finds no port (define would add a hub)."""
    devices = tuple(simple("input", f" type='{t}' bus='usb'").strip()
                    for t in ("tablet", "keyboard", "mouse"))  # fmt: skip
    return PlanCase(domain("pc-usb", "pc", []), devices)


@template
def q35_usb_after_none() -> PlanCase:
    """A USB controller attached next to model='none' is stored (define would refuse it)."""
    existing = [controller("usb", "none", 0)]
    return PlanCase(domain("q35-usb-none", "q35", existing), (controller("usb", "qemu-xhci"),))


@template
def q35_controller_index_in_use() -> PlanCase:
    """Rules §16.2: an attached controller's explicit index is checked against the stored ones."""
    return PlanCase(domain("q35-ctl-in-use", "q35", []), (controller("usb", "qemu-xhci", 0),))


@template
def q35_controller_index_not_integer() -> PlanCase:
    """The device's index is parsed (an integer) before any attach check."""
    device = simple("controller", " type='scsi' index='x'")
    return PlanCase(domain("q35-ctl-x", "q35", []), (device,))


@template
def q35_root_port_message_index_as_number() -> PlanCase:
    """The validation message prints the index as a number: '7', not the written '07'."""
    device = simple("controller", " type='pci' index='07' model='pcie-root-port'")
    return PlanCase(domain("q35-rp-07", "q35", []), (device,))


@template
def q35_detach_controller_index_as_number() -> PlanCase:
    """Detach matches a controller by its index as a number: '03' is the spare root port 3."""
    device = simple("controller", " type='pci' index='03' model='pcie-root-port'")
    return PlanCase(domain("q35-detach-03", "q35", []), (device,), True)


@template
def q35_video_bad_address() -> PlanCase:
    """The device's parse error comes before 'persistent attach ... is not supported'."""
    device = simple("video", "", "<model type='vga'/>", "<address type='pci' slot='zz'/>")
    return PlanCase(domain("q35-video-zz", "q35", []), (device,))


# ---------------------------------------------------------------------------- parse refusals
# libvirt parses (and validates) the attached device first: its message, naming the device file.

_PARSE_REFUSALS = {
    "disk-no-target": simple("disk", " type='file'", "<source file='/a.img'/>"),
    "controller-no-type-scsi-model": simple("controller", " model='virtio-scsi'"),
    "address-no-type": interface("e1000", "<address bus='0x00' slot='0x05'/>"),
    "sound-no-model": simple("sound"),
    "filesystem-no-target": simple("filesystem", " type='mount'", "<source dir='/srv'/>"),
}


def _refusal_template(kind: str, device: str) -> Callable[[], PlanCase]:
    def build() -> PlanCase:
        return PlanCase(domain(f"q35-{kind}", "q35", []), (device.strip(),))

    build.__name__ = f"q35_refuse_{kind.replace('-', '_')}"
    build.__doc__ = f"libvirt refuses the device at parse: {kind}"
    return build


for _kind, _device in _PARSE_REFUSALS.items():
    template(_refusal_template(_kind, _device))


# ---------------------------------------------------------------------------- device kinds
# Each kind attached to an empty pc and an empty q35 domain (dimms: one with memory slots).

_KINDS = {
    "hostdev-pci": hostdev(0xF1),
    "hostdev-pci-two": (hostdev(0xF2), hostdev(0xF3)),
    "hostdev-scsi": scsi_hostdev(1, iscsi=True),
    "hostdev-scsi-adapter": scsi_hostdev(2, iscsi=False),
    "hostdev-usb": usb_hostdev(0x5678),
    "filesystem": filesystem("share0"),
    "shmem": simple("shmem", " name='shm0'", "<model type='ivshmem-plain'/>",
                    "<size unit='M'>4</size>"),
    "rng": simple("rng", " model='virtio'", "<backend model='random'>/dev/urandom</backend>"),
    "watchdog-i6300esb": simple("watchdog", " model='i6300esb' action='reset'"),
    "watchdog-ib700": simple("watchdog", " model='ib700' action='reset'"),
    "dimm": memory_dimm(),
    "dimm-two": (memory_dimm(), memory_dimm()),
}  # fmt: skip


def _kind_template(
    machine: str, kind: str, devices: str | tuple[str, ...]
) -> Callable[[], PlanCase]:
    texts = (devices,) if isinstance(devices, str) else devices

    def build() -> PlanCase:
        slots = 4 if kind.startswith("dimm") else None
        dom = domain(f"{machine}-{kind}", machine, [], memory_slots=slots)
        return PlanCase(dom, tuple(t.strip() for t in texts))

    build.__name__ = f"{machine}_attach_{kind.replace('-', '_')}"
    build.__doc__ = f"attach {kind} to an empty {machine} domain"
    return build


for _machine in ("pc", "q35"):
    for _kind, _devices in _KINDS.items():
        template(_kind_template(_machine, _kind, _devices))


@template
def pc_attach_scsi_hostdev_next_to_disks() -> PlanCase:
    """A SCSI hostdev after two SCSI disks on an lsilogic controller: the next free unit."""
    existing = [controller("scsi", "lsilogic", 0), disk("sda", "scsi"), disk("sdb", "scsi")]
    return PlanCase(domain("pc-scsi-hd", "pc", existing), (scsi_hostdev(3, iscsi=True).strip(),))


@template
def pc_attach_hostdev_pci_bus0_full() -> PlanCase:
    """Bus 0 full of disks: the hostdev needs a new pci-bridge."""
    existing = [disk(_vd(i), "virtio") for i in range(29)]
    return PlanCase(domain("pc-hd-full", "pc", existing), (hostdev(0xF4).strip(),))


@template
def pc_attach_usb_hostdev_ports_full() -> PlanCase:
    """piix3-uhci has two ports: both taken by tablets, the USB hostdev finds none."""
    existing = [simple("input", " type='tablet' bus='usb'") for _ in range(2)]
    return PlanCase(domain("pc-usb-full", "pc", existing), (usb_hostdev(0x9ABC).strip(),))


@template
def q35_attach_mixed_kinds() -> PlanCase:
    """Several kinds in one plan, each after the previous one is stored."""
    devices = (
        filesystem("share1").strip(),
        hostdev(0xF5).strip(),
        simple("rng", " model='virtio'", "<backend model='random'>/dev/urandom</backend>").strip(),
        simple("shmem", " name='shm1'", "<model type='ivshmem-plain'/>",
               "<size unit='M'>4</size>").strip(),
        usb_hostdev(0x4321).strip(),
        simple("watchdog", " model='i6300esb' action='reset'").strip(),
    )  # fmt: skip
    return PlanCase(domain("q35-mixed", "q35", [disk("vda", "virtio")]), devices)


@template
def q35_attach_dimm_after_explicit_slot() -> PlanCase:
    """A stored dimm at slot 1: the new one takes slot 0, the next slot 2."""
    existing = [memory_dimm(address="<address type='dimm' slot='1'/>")]
    devices = (memory_dimm().strip(), memory_dimm().strip())
    return PlanCase(domain("q35-dimm-slot", "q35", existing, memory_slots=4), devices)


@template
def q35_refuse_ide_controller() -> PlanCase:
    """The attached controller is validated: no IDE on q35 (a type-less controller is IDE)."""
    return PlanCase(domain("q35-ide", "q35", []), (simple("controller", " index='1'"),))


@template
def pc_refuse_second_ide_controller() -> PlanCase:
    """pc has one IDE controller, index 0."""
    return PlanCase(domain("pc-ide-2", "pc", []), (simple("controller", " type='ide' index='2'"),))


@template
def q35_attach_dimm_no_slot_left() -> PlanCase:
    """Two memory slots, both taken: libvirt refuses the third dimm."""
    existing = [memory_dimm(), memory_dimm()]
    dom = domain("q35-dimm-full", "q35", existing, memory_slots=2)
    return PlanCase(dom, (memory_dimm().strip(),))


# ---------------------------------------------------------------------------- attach refusals
# Devices libvirt refuses to attach, each with its own message (libvirt's order of checks).

_WATCHDOG = simple("watchdog", " model='i6300esb' action='reset'")
_VSOCK = simple("vsock", " model='virtio'", "<cid auto='yes'/>")


@template
def q35_refuse_second_watchdog() -> PlanCase:
    """A domain with a watchdog gets no second one ('domain already has a watchdog')."""
    return PlanCase(domain("q35-wd-2", "q35", [_WATCHDOG]), (_WATCHDOG.strip(),))


@template
def q35_refuse_second_vsock() -> PlanCase:
    """A domain with a vsock gets no second one."""
    return PlanCase(domain("q35-vsock-2", "q35", [_VSOCK]), (_VSOCK.strip(),))


@template
def q35_refuse_nvram() -> PlanCase:
    """nvram is validated (not on x86) before 'persistent attach ... is not supported'."""
    device = simple("nvram", "", "<address type='spapr-vio' reg='0x3000'/>")
    return PlanCase(domain("q35-nvram", "q35", []), (device.strip(),))


@template
def q35_refuse_video() -> PlanCase:
    """A video device: libvirt's answer to an attach of a plain vga."""
    device = simple("video", "", "<model type='vga'/>")
    return PlanCase(domain("q35-video", "q35", []), (device.strip(),))


@template
def pc_refuse_usb_device_without_usb() -> PlanCase:
    """A USB tablet on a domain whose USB controller is model='none'."""
    existing = [controller("usb", "none", 0)]
    device = simple("input", " type='tablet' bus='usb'")
    return PlanCase(domain("pc-no-usb", "pc", existing), (device.strip(),))


@template
def q35_refuse_pty_console() -> PlanCase:
    """A ``<console type='pty'/>`` attach."""
    device = simple("console", " type='pty'")
    return PlanCase(domain("q35-console", "q35", []), (device.strip(),))


@template
def q35_refuse_video_qxl() -> PlanCase:
    """A qxl video passes validation (a secondary one may be qxl): 'persistent attach' refuses."""
    device = simple("video", "", "<model type='qxl'/>")
    return PlanCase(domain("q35-video-qxl", "q35", []), (device.strip(),))


@template
def q35_refuse_video_no_model() -> PlanCase:
    """A model-less video is parsed as cirrus on x86."""
    return PlanCase(domain("q35-video-none", "q35", []), (simple("video").strip(),))


@template
def pc_refuse_usb_disk_without_usb() -> PlanCase:
    """A USB disk on a domain whose USB controller is model='none'."""
    dom = domain("pc-no-usb-disk", "pc", [controller("usb", "none", 0)])
    return PlanCase(dom, (disk("sda", "usb").strip(),))


@template
def q35_attach_virtio_console() -> PlanCase:
    """A console with a virtio target is stored (only a serial console is refused)."""
    device = simple("console", " type='pty'", "<target type='virtio'/>")
    return PlanCase(domain("q35-vcon", "q35", []), (device.strip(),))


def record(name: str, case: PlanCase, force: bool, libvirt: str = "9.0") -> str:
    target = plan_dir(libvirt) / name
    if target.exists() and not force:
        return f"{name}: exists (use --force)"
    with tempfile.TemporaryDirectory(prefix="virtaddr-record-") as tmp:
        staging = Path(tmp) / name
        case.write(staging)
        (answer,) = ask_libvirt([staging], libvirt)
        if answer.refused_domain:
            return f"{name}: libvirt refuses the domain itself ({answer.error}); not recorded"
        if answer.xml is not None:
            (staging / "libvirt.xml").write_text(answer.xml)
        else:
            (staging / "libvirt.err").write_text(f"{answer.error}\n")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    said = "stored" if answer.xml is not None else f"refused: {answer.error}"
    return f"{target.relative_to(fixtures_dir('9.0').parent)}: libvirt {libvirt} {said}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--import", dest="imports", nargs="+", metavar="NAME=DIR", default=[])
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--libvirt", choices=ORACLE_VERSIONS, default="9.0", help="which daemon")
    args = ap.parse_args(argv)
    if args.list:
        for name, func in TEMPLATES.items():
            print(f"{name}: {(func.__doc__ or '').strip()}")
        return 0
    jobs: list[tuple[str, PlanCase]] = []
    for spec in args.imports:
        name, _, path = spec.partition("=")
        if not name or not path:
            ap.error(f"--import wants NAME=DIR, not {spec!r}")
        jobs.append((name, PlanCase.read(Path(path))))
    if not args.imports:
        names = args.only or list(TEMPLATES)
        unknown = [n for n in names if n not in TEMPLATES]
        if unknown:
            ap.error(f"unknown template(s): {', '.join(unknown)}")
        jobs += [(n, TEMPLATES[n]()) for n in names]
    plan_dir(args.libvirt).mkdir(parents=True, exist_ok=True)
    for name, case in jobs:
        print(record(name, case, args.force, args.libvirt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
