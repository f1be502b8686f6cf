"""P2: the address pass against reading and writing the same XML with lxml, in one process.

The domain is a q35 guest with 200 address-less virtio disks (:mod:`domains`). Measured side by
side, round after round (the rounds alternate, so a drift of the machine's speed hits all):

- **lxml**: ``etree.fromstring`` (the one safe parser configuration) + ``etree.tostring``;
- **pass**: ``api.assign_tree`` on a tree parsed beforehand (the parse is not in the figure),
  writing back into the tree (new elements built), as ``assign_element`` does;
- **whole**: text to text, what ``virtaddr assign`` does in-process: ``xmlio.parse_document``,
  ``assign_tree`` with the write-back writing text (:class:`virtaddr.xmldoc.splice.TextEdits`),
  ``splice.write_document``;
- **whole, tree**: the same, the write-back building elements, the text written by comparing
  the tree with the original (what ``plan`` does);
- **whole, lxml**: the way before the splice writer: ``assign_tree`` into the tree,
  ``xmlio.serialize_document``;
- **no write**: ``parse_document`` + ``assign_tree`` with the write-back left out: what no
  writer can go below;
- **floor**: the least work any pass must do on this domain with lxml, no rule of libvirt's in
  it: read each disk's target, make one ``<address>`` per disk and one root-port controller
  (model, target, address) per disk by a single parse of their text, and insert them, the
  addresses written as libvirt would place them on this one domain (a reference, not a pass).

    .venv/bin/python benchmarks/p2_pass_vs_xml.py             # 200 disks, 30 rounds
    .venv/bin/python benchmarks/p2_pass_vs_xml.py --disks 30 --rounds 100
    .venv/bin/python benchmarks/p2_pass_vs_xml.py --cpu       # CPU time (a busy machine)

Each figure is the median over rounds of the time of one call (wall time; ``--cpu``: this
thread's CPU time, steadier when other processes compete for the cores). The last lines are
``P2 pass / lxml parse+serialize: <R>x`` (target <= 3) and ``P2 text -> text (whole) / lxml
parse+serialize: <R>x`` (target <= 8).
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
from virtaddr.passes import writeback
from virtaddr.xmldoc import splice, xmlio

Assign = Callable[[etree._ElementTree], object]
clock = time.perf_counter


def lxml_round_trip(data: bytes, repeat: int = 5) -> float:
    """Seconds per parse + serialize, over ``repeat`` of them (each is short)."""
    gc.collect()  # the garbage of the previous measurement is not this one's cost
    etree.tostring(etree.fromstring(data, xmlio.safe_parser()))  # untimed: warms the heap
    t0 = clock()
    for _ in range(repeat):
        root = etree.fromstring(data, xmlio.safe_parser())
        etree.tostring(root)
    return (clock() - t0) / repeat


def pass_only(data: bytes, assign: Assign) -> float:
    tree = xmlio.parse_document(data, "bench").tree
    gc.collect()
    t0 = clock()
    result = assign(tree)
    elapsed = clock() - t0
    assert not getattr(result, "errors", None), getattr(result, "errors", None)
    return elapsed


def whole(data: bytes, assign: Assign) -> float:
    """Text to text: the write-back writes text, spliced into the original."""
    gc.collect()
    t0 = clock()
    doc = xmlio.parse_document(data, "bench")
    with splice.TextEdits(doc) as edits:
        assign(doc.tree)
    splice.write_document(doc, edits)
    return clock() - t0


def whole_tree(data: bytes, assign: Assign) -> float:
    """The write-back builds elements; the text comes from comparing the tree."""
    gc.collect()
    t0 = clock()
    doc = xmlio.parse_document(data, "bench")
    assign(doc.tree)
    splice.write_document(doc)
    return clock() - t0


def whole_lxml(data: bytes, assign: Assign) -> float:
    """The way before the splice writer: lxml serialises the whole tree."""
    gc.collect()
    t0 = clock()
    doc = xmlio.parse_document(data, "bench")
    assign(doc.tree)
    xmlio.serialize_document(doc)
    return clock() - t0


def no_write(data: bytes, assign: Assign) -> float:
    """Parse and pass with the write-back left out."""
    write_back = writeback.write_back
    writeback.write_back = lambda domain: None
    try:
        gc.collect()
        t0 = clock()
        doc = xmlio.parse_document(data, "bench")
        assign(doc.tree)
        return clock() - t0
    finally:
        writeback.write_back = write_back


def floor(data: bytes) -> float:
    """Seconds of the least work a pass does here (see the module's docstring)."""
    tree = xmlio.parse_document(data, "bench").tree
    gc.collect()
    t0 = clock()
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
    return clock() - t0


MEASURES: dict[str, Callable[[bytes, Assign], float]] = {
    "pass": pass_only,
    "whole": whole,
    "whole, tree": whole_tree,
    "whole, lxml": whole_lxml,
    "no write": no_write,
}


def compare(data: bytes, rounds: int, assign: Assign) -> dict[str, float]:
    """Median seconds per call of each measurement, over alternating rounds (after a warm-up)."""
    times: dict[str, list[float]] = {k: [] for k in ("lxml", *MEASURES, "floor")}
    for r in range(rounds + 1):
        measured = {"lxml": lxml_round_trip(data)}
        for name, measure in MEASURES.items():
            measured[name] = measure(data, assign)
        measured["floor"] = floor(data)
        if r:  # round 0 warms caches and lazy imports
            for name, seconds in measured.items():
                times[name].append(seconds)
    return {k: statistics.median(v) for k, v in times.items()}


def libvirt_assign(tree: etree._ElementTree) -> object:
    return api.assign_tree(tree, libvirt="9.0")


def main() -> int:
    global clock
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--disks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()
    if args.cpu:
        clock = time.thread_time
    data = q35_disks(args.disks).encode()
    m = compare(data, args.rounds, libvirt_assign)
    kind = "CPU time" if args.cpu else "wall time"
    print(f"q35, {args.disks} virtio disks ({len(data)} bytes); median of {args.rounds} rounds, "
          f"{kind}")  # fmt: skip
    lines = (
        ("lxml parse + serialize", "lxml"),
        ("pass (api.assign_tree)", "pass"),
        ("whole: text -> text (splice)", "whole"),
        ("whole, tree written by comparing", "whole, tree"),
        ("whole, tree written by lxml (before)", "whole, lxml"),
        ("no write (write-back left out)", "no write"),
        ("floor (no rule, one parse of new text)", "floor"),
    )
    for label, key in lines:
        ratio = "" if key == "lxml" else f"   {m[key] / m['lxml']:6.2f}x lxml"
        print(f"  {label:40s}{m[key] * 1e3:8.3f} ms{ratio}")
    print(f"P2 pass / lxml parse+serialize: {m['pass'] / m['lxml']:.2f}x (target <= 3)")
    print(f"P2 text -> text (whole) / lxml parse+serialize: {m['whole'] / m['lxml']:.2f}x "
          "(target <= 8)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
