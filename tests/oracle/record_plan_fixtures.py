#!/usr/bin/env python3
"""Record ``fixtures/plan/NAME/``: a (domain, devices) case and the live libvirt's answer to it.

    .venv/bin/python tests/oracle/record_plan_fixtures.py --list         # the templates
    .venv/bin/python tests/oracle/record_plan_fixtures.py                # record every template
    .venv/bin/python tests/oracle/record_plan_fixtures.py --only q35-e1000
    .venv/bin/python tests/oracle/record_plan_fixtures.py --import plan-NAME=DIR  # a counterexample
    ... --force                                                          # overwrite existing ones

A case directory holds ``domain.xml``, ``device-1.xml``, ... and ``detach`` for a detach case (see
``plan_cases.py``). The script asks ``$ORACLE/libvirt-attach`` and writes its answer as
``libvirt.xml`` (the stored domain) or ``libvirt.err`` (its message). It refuses to overwrite an
existing fixture without ``--force``. ``tests/test_plan_fixtures.py`` checks them offline.
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

from domainxml import controller, disk, domain, interface, simple
from parity import FIXTURES_DIR

PLAN_DIR = FIXTURES_DIR / "plan"
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


def record(name: str, case: PlanCase, force: bool) -> str:
    target = PLAN_DIR / name
    if target.exists() and not force:
        return f"{name}: exists (use --force)"
    with tempfile.TemporaryDirectory(prefix="virtaddr-record-") as tmp:
        staging = Path(tmp) / name
        case.write(staging)
        (answer,) = ask_libvirt([staging])
        if answer.refused_domain:
            return f"{name}: libvirt refuses the domain itself ({answer.error}); not recorded"
        if answer.xml is not None:
            (staging / "libvirt.xml").write_text(answer.xml)
        else:
            (staging / "libvirt.err").write_text(f"{answer.error}\n")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    return f"{name}: {'stored' if answer.xml is not None else 'refused: ' + str(answer.error)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--import", dest="imports", nargs="+", metavar="NAME=DIR", default=[])
    ap.add_argument("--force", action="store_true")
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
    PLAN_DIR.mkdir(parents=True, exist_ok=True)
    for name, case in jobs:
        print(record(name, case, args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
