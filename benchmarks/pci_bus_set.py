"""The PCI pass with the tree's own bus set against the bit-mask bus set (a mask per slot).

The old ``PciBusSet`` is read from ``git show BASE:src/virtaddr/passes/pci_buses.py`` (default
``57a132f``) into a temporary directory, and swapped in for the pass's own in alternate rounds
of the same run. ``main`` still has that set (the ratio is then about 1); the bus set on the
allocator is on the branch ``engine-pci-wip``: run this script with ``PYTHONPATH`` on its
``src`` to measure it. The domains:

- the 200-disk q35 domain of :mod:`p2_pass_vs_xml` (``api.assign_tree``, libvirt 9.0);
- a 3,000-disk q35 domain as ``assign --grow deep`` runs it (:mod:`p3_growth`).

    .venv/bin/python benchmarks/pci_bus_set.py [--rounds 15] [--base COMMIT] [--cpu]

Each figure is the median over rounds of one pass on a tree parsed beforehand (wall time;
``--cpu``: this thread's CPU time, steadier when other processes compete for the cores); the
last lines are ``allocator / old bus set: <R>x`` per domain (<= 1: no slower).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

import p2_pass_vs_xml
from domains import q35_disks
from p2_pass_vs_xml import libvirt_assign, pass_only
from p3_growth import deep
from virtaddr.passes import pci

ROOT = Path(__file__).resolve().parents[1]


def old_module(base: str, where: Path) -> ModuleType:
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{base}:src/virtaddr/passes/pci_buses.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = where / "old_pci_buses.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_pci_buses", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_bus_set(module: ModuleType) -> type:
    class OldBusSet(module.PciBusSet):  # type: ignore[name-defined,misc]
        """The old set, with the queries the pass now asks by name."""

        def is_aggregate(self, bus: int, slot: int) -> bool:
            return slot in (self.buses[bus].open_aggregate or ())

        def model(self, bus: int) -> str:
            return self.buses[bus].model  # type: ignore[no-any-return]

        def min_slot(self, bus: int) -> int:
            return self.buses[bus].rules.min_slot  # type: ignore[no-any-return]

        def any_accepts(self, types: int) -> bool:
            return any(b.accepts & types for b in self.buses)

    return OldBusSet


@contextmanager
def bus_set(cls: type) -> Iterator[None]:
    saved = pci.PciBusSet
    pci.PciBusSet = cls  # type: ignore[misc]
    try:
        yield
    finally:
        pci.PciBusSet = saved  # type: ignore[misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--base", default="57a132f")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()
    if args.cpu:
        p2_pass_vs_xml.clock = time.thread_time
    cases: list[tuple[str, bytes, Callable[..., object]]] = [
        ("q35, 200 disks (P2)", q35_disks(200).encode(), libvirt_assign),
        ("q35, 3,000 disks, --grow deep (P3)", q35_disks(3000).encode(), deep),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        old = old_bus_set(old_module(args.base, Path(tmp)))
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds + 1):
            for name, data, assign in cases:
                with bus_set(old):
                    a = pass_only(data, assign)
                b = pass_only(data, assign)
                if r:  # round 0 warms up
                    times.setdefault((name, "old"), []).append(a)
                    times.setdefault((name, "new"), []).append(b)
    what = "CPU time" if args.cpu else "wall time"
    print(
        f"PCI pass: old bus set ({args.base}) vs the allocator; median of {args.rounds} rounds, "
        + what
    )
    for name, _, _ in cases:
        o = statistics.median(times[(name, "old")])
        n = statistics.median(times[(name, "new")])
        print(f"  {name:36} old {o * 1e3:8.2f} ms   allocator {n * 1e3:8.2f} ms")
    for name, _, _ in cases:
        o = statistics.median(times[(name, "old")])
        n = statistics.median(times[(name, "new")])
        print(f"{name}: allocator / old bus set: {n / o:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
