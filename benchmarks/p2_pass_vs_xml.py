"""P2: the address pass against reading and writing the same XML with lxml, in one process.

The domain is a q35 guest with 200 address-less virtio disks (:mod:`domains`). Measured side by
side, round after round (the rounds alternate, so a drift of the machine's speed hits all):

- **lxml**: ``etree.fromstring`` (the one safe parser configuration) + ``etree.tostring``;
- **pass**: ``api.assign_tree`` on a tree parsed beforehand (the parse is not in the figure);
- **whole**: ``xmlio.parse_document`` + ``assign_tree`` + ``xmlio.serialize_document``, what
  ``virtaddr assign`` does in-process;
- **floor**: the least work any pass must do on this domain with lxml, no rule of libvirt's in
  it: read each disk's target, make one ``<address>`` per disk and one root-port controller
  (model, target, address) per disk by a single parse of their text, and insert them, the
  addresses written as libvirt would place them on this one domain (a reference, not a pass).

    .venv/bin/python benchmarks/p2_pass_vs_xml.py             # 200 disks, 30 rounds
    .venv/bin/python benchmarks/p2_pass_vs_xml.py --disks 30 --rounds 100

Each figure is the median over rounds of the time of one call. The last line is
``P2 pass / lxml parse+serialize: <R>x`` (target <= 3). The floor shows how much of that
target the writing of the new elements alone takes.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lxml import etree

from domains import q35_disks
from virtaddr import api
from virtaddr.xmldoc import xmlio

Assign = Callable[[etree._ElementTree], object]


def lxml_round_trip(data: bytes, repeat: int = 5) -> float:
    """Seconds per parse + serialize, over ``repeat`` of them (each is short)."""
    gc.collect()  # the garbage of the previous measurement is not this one's cost
    etree.tostring(etree.fromstring(data, xmlio.safe_parser()))  # untimed: warms the heap
    t0 = time.perf_counter()
    for _ in range(repeat):
        root = etree.fromstring(data, xmlio.safe_parser())
        etree.tostring(root)
    return (time.perf_counter() - t0) / repeat


def pass_only(data: bytes, assign: Assign) -> float:
    tree = xmlio.parse_document(data, "bench").tree
    gc.collect()
    t0 = time.perf_counter()
    result = assign(tree)
    elapsed = time.perf_counter() - t0
    assert not getattr(result, "errors", None), getattr(result, "errors", None)
    return elapsed


def whole(data: bytes, assign: Assign) -> float:
    gc.collect()
    t0 = time.perf_counter()
    doc = xmlio.parse_document(data, "bench")
    assign(doc.tree)
    xmlio.serialize_document(doc)
    return time.perf_counter() - t0


def floor(data: bytes) -> float:
    """Seconds of the least work a pass does here (see the module's docstring)."""
    tree = xmlio.parse_document(data, "bench").tree
    gc.collect()
    t0 = time.perf_counter()
    devices = tree.getroot().find("devices")
    assert devices is not None
    disks = []
    for el in devices:
        if el.tag == "disk":
            target = el.find("target")
            disks.append((el, target.get("dev"), target.get("bus")))  # type: ignore[union-attr]
    controllers, addresses = [], []
    for i, _ in enumerate(disks, 1):
        slot, function = 2 + (i - 1) // 8, (i - 1) % 8
        controllers.append(
            f'<controller type="pci" index="{i}" model="pcie-root-port">'
            f'<model name="pcie-root-port"/><target chassis="{i}" port="{slot * 8 + function:#x}"/>'
            f'<address type="pci" domain="0x0000" bus="0x00" slot="0x{slot:02x}" '
            f'function="0x{function:x}"/></controller>'
        )
        addresses.append(
            f'<address type="pci" domain="0x0000" bus="0x{i:02x}" slot="0x00" function="0x0"/>'
        )
    made = list(etree.fromstring("<w>" + "".join(addresses + controllers) + "</w>"))
    for (el, _, _), address in zip(disks, made, strict=False):
        el.append(address)
    last = disks[-1][0]
    for controller in made[len(disks) :]:
        last.addnext(controller)
        last = controller
    return time.perf_counter() - t0


def compare(data: bytes, rounds: int, assign: Assign) -> dict[str, float]:
    """Median seconds per call of each measurement, over alternating rounds (after a warm-up)."""
    times: dict[str, list[float]] = {"lxml": [], "pass": [], "whole": [], "floor": []}
    for r in range(rounds + 1):
        a, b = lxml_round_trip(data), pass_only(data, assign)
        c, d = whole(data, assign), floor(data)
        if r:  # round 0 warms caches and lazy imports
            times["lxml"].append(a)
            times["pass"].append(b)
            times["whole"].append(c)
            times["floor"].append(d)
    return {k: statistics.median(v) for k, v in times.items()}


def libvirt_assign(tree: etree._ElementTree) -> object:
    return api.assign_tree(tree, libvirt="9.0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--disks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    data = q35_disks(args.disks).encode()
    m = compare(data, args.rounds, libvirt_assign)
    print(f"q35, {args.disks} virtio disks ({len(data)} bytes); median of {args.rounds} rounds")
    print(f"  lxml parse + serialize              {m['lxml'] * 1e3:8.3f} ms")
    print(f"  pass (api.assign_tree)              {m['pass'] * 1e3:8.3f} ms"
          f"   {m['pass'] / m['lxml']:6.2f}x lxml")  # fmt: skip
    print(f"  whole (xmlio parse + pass + write)  {m['whole'] * 1e3:8.3f} ms"
          f"   {m['whole'] / m['lxml']:6.2f}x lxml")  # fmt: skip
    print(f"  floor (no rule, one parse of new text) {m['floor'] * 1e3:5.3f} ms"
          f"   {m['floor'] / m['lxml']:6.2f}x lxml")  # fmt: skip
    print(f"P2 pass / lxml parse+serialize: {m['pass'] / m['lxml']:.2f}x (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
