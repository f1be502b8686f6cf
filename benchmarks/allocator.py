"""Benchmark the allocator against naive baselines and netaddr.IPSet. Prints; never asserts.

    .venv/bin/python benchmarks/allocator.py           # full run (netaddr at n=300 takes ~20 s)
    .venv/bin/python benchmarks/allocator.py --quick   # smoke run: smaller n everywhere

(a) A full PCI space, 256 buses of 32 slots x 8 functions (one pool per bus, 65,536 addresses):
    exact reserve, first-free (reserve_first of function 0 of any slot, which is what a PCI pass
    does) and release, in operations per second, against a Python set of used tuples scanned in
    lexicographic order.
(b) An IPv6 /64: n random reservations, then n allocate-any (first free address). Against
    netaddr.IPSet holding the free space (allocate-any = the first address of the set, then
    remove it) at equal n, and alone at n = 10,000 and 100,000 (with the growth ratio) next to
    a sorted list of intervals kept with bisect and list.insert.
(c) Memory (tracemalloc) and creation time (space + pool) of an empty IPv6 /64 pool (free runs)
    next to an empty 256-function PCI bus pool (a bitmap, the representation of small pools);
    the time per empty PCI bus pool added to a space of 256 (one by one, and as a row),
    then the /64 after n random exact reservations (n + 1 free intervals, n owners) for n =
    1,000, 10,000, 100,000: bytes per reservation, and the growth ratio for 10x n.

The last line is ``allocator vs netaddr.IPSet at n=<n>: <R>x`` (netaddr time / ours).
"""

from __future__ import annotations

import argparse
import bisect
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from virtaddr.alloc import AddressKind, AddressSpace
from virtaddr.kinds import ip, pci

NET = ip.cidr_box("2001:db8::/64")
BASE = NET.ranges[0][0]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- (a) PCI


class NaivePci:
    """The baseline: a set of used addresses, first-free by scanning candidates in order."""

    def __init__(self) -> None:
        self.used: set[tuple[int, ...]] = set()

    def reserve(self, a: tuple[int, ...]) -> None:
        if a in self.used:
            raise KeyError(a)
        self.used.add(a)

    def reserve_first_function0(self) -> tuple[int, ...]:
        for a in product((0,), range(256), range(32), (0,)):
            if a not in self.used:
                self.used.add(a)
                return a
        raise LookupError("full")

    def release(self, a: tuple[int, ...]) -> None:
        self.used.remove(a)


def pci_space() -> AddressSpace:
    space = AddressSpace(pci.KIND)
    for bus in range(256):
        space.add_pool([(0, 0), (bus, bus), (0, 31), (0, 7)], flags={"pci"}, name=f"bus {bus}")
    return space


def bench_pci(quick: bool) -> None:
    rng = random.Random(1)
    everything = list(product((0,), range(256), range(32), range(8)))
    exact = rng.sample(everything, 5_000 if quick else 20_000)
    firsts = 1_000 if quick else 4_096
    request = (0, None, None, 0)

    ours, naive = pci_space(), NaivePci()
    rows = []
    t_ours = timed(lambda: [ours.reserve(a, "dev") for a in exact])
    t_naive = timed(lambda: [naive.reserve(a) for a in exact])
    rows.append(("reserve (exact, random order)", len(exact), t_ours, t_naive))

    t_ours = timed(lambda: [ours.reserve_first(request, "dev") for _ in range(firsts)])
    t_naive = timed(lambda: [naive.reserve_first_function0() for _ in range(firsts)])
    rows.append(("first-free + reserve (function 0)", firsts, t_ours, t_naive))

    # The same on a copy of the state before it, as a pass asks it: the search prepared once
    # (AddressSpace.search).
    ours2, naive2 = pci_space(), NaivePci()
    for a in exact:
        ours2.reserve(a, "dev")
        naive2.reserve(a)
    search = ours2.search(request)
    t_ours = timed(lambda: [search.take("dev") for _ in range(firsts)])
    t_naive = timed(lambda: [naive2.reserve_first_function0() for _ in range(firsts)])
    rows.append(("  the same, prepared search", firsts, t_ours, t_naive))
    ours2._check()

    held = exact + [a for a in everything if a[3] == 0 and a not in set(exact)][:firsts]
    rng.shuffle(held)
    t_ours = timed(lambda: [ours.release(a) for a in held])
    t_naive = timed(lambda: [naive.release(a) for a in held if a in naive.used])
    rows.append(("release (random order)", len(held), t_ours, t_naive))
    ours._check()

    print("(a) PCI, 256 buses x 32 slots x 8 functions, one pool per bus")
    print(f"    {'operation':36} {'n':>7} {'ours ops/s':>12} {'naive ops/s':>12} {'ratio':>8}")
    for name, n, a, b in rows:
        print(f"    {name:36} {n:>7} {n / a:>12,.0f} {n / b:>12,.0f} {b / a:>7.2f}x")
    print()


# --------------------------------------------------------------------------- (b) IPv6


def random_offsets(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    seen: set[int] = set()
    while len(seen) < n:
        seen.add(rng.getrandbits(64))
    out = sorted(seen)
    rng.shuffle(out)
    return out


def ours_ipv6(offsets: list[int]) -> AddressSpace:
    space = AddressSpace(ip.IPV6)
    space.add_pool(NET, name="/64")
    for x in offsets:
        space.reserve((BASE + x,), "random")
    for _ in offsets:
        space.reserve_any("any")
    return space


def netaddr_ipv6(offsets: list[int]) -> object:
    import netaddr

    free = netaddr.IPSet([netaddr.IPNetwork("2001:db8::/64")])
    for x in offsets:
        free.remove(netaddr.IPAddress(BASE + x, 6))
    for _ in offsets:
        first = next(iter(free))
        free.remove(first)
    return free


class SortedIntervals:
    """The other baseline: free runs as two sorted lists, with bisect and list.insert."""

    def __init__(self, lo: int, hi: int) -> None:
        self.los, self.his = [lo], [hi]

    def remove(self, x: int) -> None:
        i = bisect.bisect_left(self.his, x)
        lo, hi = self.los[i], self.his[i]
        if not lo <= x:
            raise KeyError(x)
        if lo == hi:
            del self.los[i], self.his[i]
        elif x == lo:
            self.los[i] = x + 1
        elif x == hi:
            self.his[i] = x - 1
        else:
            self.his[i] = x - 1
            self.los.insert(i + 1, x + 1)
            self.his.insert(i + 1, hi)

    def take_first(self) -> int:
        x = self.los[0]
        self.remove(x)
        return x


def sorted_list_ipv6(offsets: list[int]) -> SortedIntervals:
    s = SortedIntervals(NET.ranges[0][0], NET.ranges[0][1])
    for x in offsets:
        s.remove(BASE + x)
    for _ in offsets:
        s.take_first()
    return s


def bench_ipv6(quick: bool) -> float:
    n_cmp = 100 if quick else 300
    sizes = [2_000, 20_000] if quick else [10_000, 100_000]
    print("(b) IPv6 /64: n random reservations, then n allocate-any")
    offsets = random_offsets(n_cmp, 7)
    t_ours = min(timed(lambda: ours_ipv6(offsets)) for _ in range(3))
    t_net = timed(lambda: netaddr_ipv6(offsets))
    ratio = t_net / t_ours
    print(f"    n={n_cmp:<7} ours {t_ours * 1e3:9.2f} ms   netaddr.IPSet {t_net * 1e3:10.1f} ms")
    times: dict[int, tuple[float, float]] = {}
    for n in sizes:
        offsets = random_offsets(n, n)
        built: list[AddressSpace] = []
        t_ours = timed(lambda offsets=offsets, built=built: built.append(ours_ipv6(offsets)))
        t_sorted = timed(lambda offsets=offsets: sorted_list_ipv6(offsets))
        built[0]._check()
        times[n] = (t_ours, t_sorted)
        print(
            f"    n={n:<7} ours {t_ours * 1e3:9.1f} ms   "
            f"sorted list + bisect + list.insert {t_sorted * 1e3:9.1f} ms"
        )
    small, big = sizes
    print(
        f"    growth t({big:,})/t({small:,}): ours {times[big][0] / times[small][0]:.1f}, "
        f"sorted list {times[big][1] / times[small][1]:.1f} (n grows {big // small}x)"
    )
    print()
    return ratio


# --------------------------------------------------------------------------- (c) memory


def traced_bytes(build: Callable[[], object]) -> int:
    """Bytes still allocated by ``build`` once it returned (its result kept alive)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


def creation_us(build: Callable[[], object], n: int = 2_000) -> float:
    """Microseconds per ``build()``, the best of five batches of ``n``."""
    best = min(timed(lambda: [build() for _ in range(n)]) for _ in range(5))
    return best / n * 1e6


def bench_memory(quick: bool) -> None:
    print("(c) memory")

    def pool(kind: AddressKind, box: Sequence[tuple[int, int]]) -> Callable[[], object]:
        def build() -> object:
            space = AddressSpace(kind)
            space.add_pool(box, name="pool")
            return space

        return build

    pci_box = [(0, 0), (0, 0), (0, 31), (0, 7)]
    pci_bus = traced_bytes(pool(pci.KIND, pci_box))
    ipv6 = traced_bytes(pool(ip.IPV6, NET.ranges))
    print(f"    empty pool + space: PCI bus (256 functions) {pci_bus:,} B, IPv6 /64 {ipv6:,} B")
    pci_us = creation_us(pool(pci.KIND, pci_box))
    ipv6_us = creation_us(pool(ip.IPV6, NET.ranges))
    print(f"    creating space + empty pool: PCI bus {pci_us:.1f} us, IPv6 /64 {ipv6_us:.1f} us")

    # What a PCI pass does: hundreds of empty bus pools added to one space.
    buses = 256

    def one_by_one() -> object:
        space = AddressSpace(pci.KIND)
        for b in range(buses):
            space.add_pool([(0, 0), (b, b), (0, 31), (0, 7)], flags={"pci"})
        return space

    def along() -> object:
        space = AddressSpace(pci.KIND)
        space.add_pools_along([(0, 0), (0, 0), (0, 31), (0, 7)], 1, range(buses), flags={"pci"})
        return space

    def row() -> object:
        space = AddressSpace(pci.KIND)
        add = space.row([(0, 0), (0, 0), (0, 31), (0, 7)], 1, flags={"pci"}).add
        for b in range(buses):
            add(b)
        return space

    each_us = creation_us(one_by_one, 20) / buses
    along_us = creation_us(along, 20) / buses
    row_us = creation_us(row, 20) / buses
    print(
        f"    empty PCI bus pool added to a space of {buses}: add_pool {each_us:.2f} us, "
        f"add_pools_along {along_us:.2f} us, row.add {row_us:.2f} us a pool"
    )

    def reserved(offsets: list[int]) -> Callable[[], object]:
        def build() -> object:
            space = AddressSpace(ip.IPV6)
            space.add_pool(NET, name="/64")
            for x in offsets:
                space.reserve((BASE + x,), "random")
            return space

        return build

    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    used: dict[int, int] = {}
    for n in sizes:
        used[n] = traced_bytes(reserved(random_offsets(n, seed=3)))
        each = used[n] / n
        print(f"    /64 after n={n:<7} random reservations: {used[n]:>12,} B  {each:6.0f} B each")
    small, big = sizes[-2], sizes[-1]
    growth = used[big] / used[small]
    print(f"    memory growth m({big:,})/m({small:,}): {growth:.1f} (n grows {big // small}x)")
    print()


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    print(f"virtaddr allocator benchmark ({machine()}{', quick' if args.quick else ''})")
    print()
    bench_pci(args.quick)
    ratio = bench_ipv6(args.quick)
    bench_memory(args.quick)
    print(f"allocator vs netaddr.IPSet at n={100 if args.quick else 300}: {ratio:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
