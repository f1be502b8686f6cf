"""P3: how the pass grows with the domain: 300, 1,000 and 3,000 virtio disks on q35.

Past about 230 devices libvirt's own growth gives up, so these run as ``assign --grow deep``
does (:func:`virtaddr.passes.pipeline.assign_deep`: libvirt's trial, then the deep topology).
For each size, in the same alternating rounds, the pass on a tree parsed beforehand and lxml's
parse + serialize of the same text (as :mod:`p2_pass_vs_xml`).

    .venv/bin/python benchmarks/p3_growth.py              # 300, 1000, 3000; 5 rounds
    .venv/bin/python benchmarks/p3_growth.py --sizes 300 3000 --rounds 9

The last lines: ``t(3000)/t(300)`` (devices grow 10x; target <= 12x) and the P2 ratio at 3,000
devices (target <= 3).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lxml import etree

from domains import q35_disks
from p2_pass_vs_xml import lxml_round_trip, pass_only
from virtaddr.passes.pipeline import assign_deep


def deep(tree: etree._ElementTree) -> object:
    return assign_deep(tree)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = {n: q35_disks(n).encode() for n in args.sizes}
    passes: dict[int, list[float]] = {n: [] for n in args.sizes}
    lxml: dict[int, list[float]] = {n: [] for n in args.sizes}
    for r in range(args.rounds + 1):
        for n in args.sizes:
            a, b = lxml_round_trip(texts[n]), pass_only(texts[n], deep)
            if r:  # round 0 warms up
                lxml[n].append(a)
                passes[n].append(b)
    med = statistics.median
    print(f"q35 virtio disks, --grow deep; median of {args.rounds} rounds")
    print(f"  {'devices':>8s}{'pass ms':>10s}{'lxml ms':>10s}{'pass/lxml':>11s}{'ms/device':>11s}")
    for n in args.sizes:
        p, x = med(passes[n]), med(lxml[n])
        print(f"  {n:8d}{p * 1e3:10.2f}{x * 1e3:10.3f}{p / x:10.2f}x{p * 1e3 / n:11.4f}")
    lo, hi = min(args.sizes), max(args.sizes)
    growth = med(passes[hi]) / med(passes[lo])
    print(f"P3 t({hi})/t({lo}) = {growth:.2f}x for {hi / lo:.0f}x the devices (target <= 12x)")
    ratio = med(passes[hi]) / med(lxml[hi])
    print(f"P3 pass / lxml parse+serialize at {hi} devices: {ratio:.2f}x (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
