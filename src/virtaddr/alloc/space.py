"""Address spaces: pools of addresses, their free runs and their owners.

A space has a kind (its dimensions and bounds) and pools, disjoint boxes with flags. Every pool
numbers its points in lexicographic order (first dimension most significant) as a mixed-radix
linear index, so that order is plain integer order and a pool's state is its free set over
``0 .. size - 1`` and who holds the rest (:class:`~virtaddr.alloc.holdings.Holdings`: a dict for
single addresses, runs for blocks). The free set is chosen per pool: a small pool (a PCI bus, a
drive bus) is a bitmap, one int (:class:`~virtaddr.alloc.bits.BitSet`), cheap to create and to
search with a mask; a large one is sorted runs (:class:`IntervalSet`), so memory follows the
fragmentation, not the size: an IPv6 /64 costs about what a PCI bus does.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from heapq import merge
from itertools import product
from typing import Any

from virtaddr.alloc.bits import BitSet
from virtaddr.alloc.box import Box, BoxLike, boxes_between
from virtaddr.alloc.holdings import Holdings
from virtaddr.alloc.index import BoxIndex
from virtaddr.alloc.intervals import IntervalSet
from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.alloc.request import Request, RequestLike
from virtaddr.errors import (
    Collision,
    Exhausted,
    InvalidAddress,
    NotReserved,
    OutOfPool,
    PoolOverlap,
)

__all__ = ["AddressSpace", "Pool"]

Address = tuple[int, ...]
Owner = Hashable
_NO_FLAGS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, eq=False)
class Pool:
    """A box of addresses the space may hand out, with flags and caller data.

    Pools compare by identity. ``data`` is anything the caller wants back from
    :meth:`AddressSpace.pool_of` (the PCI pass keeps its bus there).
    """

    name: str
    box: Box
    flags: frozenset[str]
    data: Any = None

    def __str__(self) -> str:
        return f"{self.name} {self.box}"


def next_point(q: Sequence[tuple[int, int]], point: Sequence[int]) -> list[int] | None:
    """The lexicographically smallest point of box ``q`` that is ``>= point``, or ``None``. O(d).

    >>> next_point([(0, 1), (2, 3)], (0, 4)), next_point([(0, 1), (2, 3)], (1, 4))
    ([1, 2], None)
    """
    digits = list(point)
    for i, ((a, b), v) in enumerate(zip(q, digits, strict=True)):
        if v < a:
            digits[i:] = [lo for lo, _ in q[i:]]
            return digits
        if v > b:
            # Carry: raise the last earlier digit that can still grow.
            for j in range(i - 1, -1, -1):
                if digits[j] < q[j][1]:
                    digits[j] += 1
                    digits[j + 1 :] = [lo for lo, _ in q[j + 1 :]]
                    return digits
            return None
    return digits


class _Finger:
    """Where the last search for one request stopped, so the next starts there.

    ``start`` is a point below which no address matching the request is free (``None``: no
    knowledge); ``exhausted`` says none is free at all; ``pos`` is how many of the candidate
    pools lie entirely below ``start``. Reserving never invalidates a finger; releasing lowers
    ``start`` to what was released; adding a pool drops every finger.
    """

    __slots__ = ("clips", "exhausted", "pos", "start", "states")

    def __init__(self, states: list[_PoolState], box: Box) -> None:
        # The candidate pools that meet the box, each with its part of the box, clipped once.
        self.states: list[_PoolState] = []
        self.clips: list[tuple[tuple[int, int], ...]] = []
        for st in states:
            q = st.clip(box)
            if q is not None:
                self.states.append(st)
                self.clips.append(q)
        self.start: Address | None = None
        self.exhausted = False
        self.pos = 0

    def lower(self, point: Address) -> None:
        if self.exhausted or (self.start is not None and self.start > point):
            self.start = point
            self.pos = 0
        self.exhausted = False


#: How many request fingers a space keeps (the oldest is dropped first).
FINGERS = 32


#: Pools of at most this many addresses keep their free space as a bitmap (:class:`BitSet`),
#: larger ones as runs (:class:`IntervalSet`). A PCI bus is 256 functions, a drive bus a few
#: dozen units: for those one int is cheaper to create, query and update than sorted lists.
DENSE_MAX = 1024

#: The masks of request boxes within bitmap pools, by pool shape and relative box (bounded).
_MASKS: dict[tuple[tuple[int, ...], tuple[tuple[int, int], ...]], int] = {}
_MASKS_MAX = 4096


class _PoolState:
    """A pool's linear index and its free and reserved runs."""

    __slots__ = ("free", "held", "hi", "his", "lo", "los", "one", "pool", "size", "strides")

    free: IntervalSet | BitSet

    def __init__(self, pool: Pool, dense: bool | None = None) -> None:
        self.pool = pool
        ranges = pool.box.ranges
        self.los = self.lo = tuple([r[0] for r in ranges])  # lo: the first point, for order
        self.his = self.hi = tuple([r[1] for r in ranges])
        # One-dimensional pools (IP addresses, disk names, zPCI ids) take shortcuts.
        self.one = len(ranges) == 1
        if self.one:
            self.strides: tuple[int, ...] = (1,)
            n = ranges[0][1] - ranges[0][0] + 1
        else:
            strides: list[int] = []
            n = 1
            for lo, hi in reversed(ranges):
                strides.append(n)
                n *= hi - lo + 1
            strides.reverse()
            self.strides = tuple(strides)
        self.size = n
        if dense is None:
            dense = n <= DENSE_MAX
        self.free = BitSet(n) if dense else IntervalSet.full(n)
        self.held = Holdings(self.free)

    def encode(self, address: Sequence[int]) -> int:
        """The linear index of a point of the pool. O(d)."""
        if self.one:
            return address[0] - self.los[0]
        x = 0
        for v, lo, s in zip(address, self.los, self.strides, strict=True):
            x += (v - lo) * s
        return x

    def decode(self, x: int) -> Address:
        """The point at linear index ``x``. O(d)."""
        if self.one:
            return (self.los[0] + x,)
        out = []
        for lo, s in zip(self.los, self.strides, strict=True):
            q, x = divmod(x, s)
            out.append(lo + q)
        return tuple(out)

    def clip(self, box: Box) -> tuple[tuple[int, int], ...] | None:
        """``box`` within the pool as ranges, or ``None`` when they do not meet. O(d)."""
        out = []
        for (a, b), lo, hi in zip(box.ranges, self.los, self.his, strict=True):
            a, b = max(a, lo), min(b, hi)
            if a > b:
                return None
            out.append((a, b))
        return tuple(out)

    def is_whole(self, q: Sequence[tuple[int, int]]) -> bool:
        return all(
            a == lo and b == hi for (a, b), lo, hi in zip(q, self.los, self.his, strict=True)
        )

    def contiguous_from(self, q: Sequence[tuple[int, int]]) -> int:
        """The first dimension ``k`` such that every dimension after ``k`` is whole in ``q``."""
        k = len(q) - 1
        while k > 0 and q[k] == (self.los[k], self.his[k]):
            k -= 1
        return k

    def runs(self, q: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
        """The linear runs of the clipped box ``q``, in order. O(d) per run."""
        k = self.contiguous_from(q)
        tail_lo = [a for a, _ in q[k + 1 :]]
        tail_hi = [b for _, b in q[k + 1 :]]
        for prefix in product(*(range(a, b + 1) for a, b in q[:k])):
            yield (
                self.encode((*prefix, q[k][0], *tail_lo)),
                self.encode((*prefix, q[k][1], *tail_hi)),
            )

    def next_in(self, q: Sequence[tuple[int, int]], x: int) -> int | None:
        """The smallest linear index ``>= x`` whose point is in ``q``, or ``None``. O(d)."""
        p = next_point(q, self.decode(x))
        return None if p is None else self.encode(p)

    def count_upto(self, q: Sequence[tuple[int, int]], x: int) -> int:
        """How many points of ``q`` have a linear index ``<= x``. O(d)."""
        if x < 0:
            return 0
        total = 0
        suffix = 1
        sizes = [b - a + 1 for a, b in q]
        suffixes = [0] * len(q)
        for i in range(len(q) - 1, -1, -1):
            suffixes[i] = suffix
            suffix *= sizes[i]
        for v, (a, b), s in zip(self.decode(x), q, suffixes, strict=True):
            if v < a:
                return total
            if v > b:
                return total + (b - a + 1) * s
            total += (v - a) * s
        return total + 1

    def count_free(self, q: Sequence[tuple[int, int]]) -> int:
        """Free points of the clipped box ``q``. O(log n + k·d), k free runs touching ``q``."""
        if self.is_whole(q):
            return self.free.total
        first = self.encode([a for a, _ in q])
        last = self.encode([b for _, b in q])
        if self.contiguous_from(q) == 0 or all(a == b for a, b in q[: self.contiguous_from(q)]):
            return self.free.count(first, last)
        n = 0
        for a, b in self.free.runs_from(first):
            if a > last:
                break
            n += self.count_upto(q, min(b, last)) - self.count_upto(q, a - 1)
        return n

    def first_free(self, q: Sequence[tuple[int, int]], start: Address | None = None) -> int | None:
        """The smallest free linear index in ``q`` (at or after point ``start``, if given).

        A bitmap pool masks its free bits with the box's bits: O(size) in C. Runs: O(log n) when
        the box is one linear run, else O((log n + d) · k), k the free runs passed over that
        hold no point of ``q``.
        """
        if self.one:
            a, b = q[0]
            lo = self.los[0]
            if start is not None and start[0] > a:
                a = start[0]
            run = self.free.find(a - lo)
            if run is None or run[0] > b - lo:
                return None
            return max(a - lo, run[0])
        if start is None or start <= self.los:
            first = self.encode([a for a, _ in q])
        else:
            p = next_point(q, start)
            if p is None:
                return None
            first = self.encode(p)
        free = self.free
        if isinstance(free, BitSet):
            return free.first_in_mask(self.mask(q), first)
        last = self.encode([b for _, b in q])
        k = self.contiguous_from(q)
        if k == 0 or all(a == b for a, b in q[:k]):
            # The box is one linear run: no need to step over points outside it.
            run = free.find(first)
            if run is None or run[0] > last:
                return None
            return max(first, run[0])
        x: int | None = first
        while x is not None:
            run = free.find(x)
            if run is None or run[0] > last:
                return None
            y = max(x, run[0])
            z = self.next_in(q, y)
            if z is None or z <= run[1]:
                return z
            x = z
        return None

    def mask(self, q: Sequence[tuple[int, int]]) -> int:
        """The bits of the linear indices of box ``q`` (for a bitmap pool). Cached by shape."""
        key = (
            self.strides,
            tuple([(a - lo, b - lo) for (a, b), lo in zip(q, self.los, strict=True)]),
        )
        m = _MASKS.get(key)
        if m is None:
            m = 0
            for lo, hi in self.runs(q):
                m |= ((1 << (hi - lo + 1)) - 1) << lo
            if len(_MASKS) >= _MASKS_MAX:
                _MASKS.clear()
            _MASKS[key] = m
        return m

    def first_held(self, q: Sequence[tuple[int, int]]) -> tuple[int, Owner] | None:
        """The smallest reserved linear index in ``q`` with its owner. O(log n + k·d)."""
        first = self.encode([a for a, _ in q])
        last = self.encode([b for _, b in q])
        for a, b, owner in self.held.overlapping(first, last):
            z = self.next_in(q, max(a, first))
            if z is not None and z <= b:
                return z, owner
        return None

    def free_boxes(self, q: Sequence[tuple[int, int]] | None) -> Iterator[Box]:
        """The free runs as boxes (clipped to ``q``), in lexicographic order."""
        first = 0 if q is None else self.encode([a for a, _ in q])
        last = self.size - 1 if q is None else self.encode([b for _, b in q])
        clip = None if q is None else Box(q)
        for a, b in self.free.runs_from(first):
            if a > last:
                break
            for box in boxes_between(self.pool.box, self.decode(a), self.decode(b)):
                if clip is None:
                    yield box
                else:
                    part = box.intersection(clip)
                    if part is not None:
                        yield part


class AddressSpace:
    """The addresses of one kind: pools, what is free, and who holds the rest.

    >>> from virtaddr.alloc import AddressSpace
    >>> space = AddressSpace.from_dims(("bus", 0, 1), ("slot", 0, 31), ("function", 0, 7))
    >>> pool = space.add_pool([(0, 1), (0, 31), (0, 7)], name="root")
    >>> space.reserve((0, 13, 2), owner="disk vda")
    (0, 13, 2)
    >>> [str(b) for b in space.free_boxes()][:3]
    ['{0..0}{0..12}{0..7}', '{0..0}{13..13}{0..1}', '{0..0}{13..13}{3..7}']

    Not thread-safe. Every method raises :class:`~virtaddr.errors.InvalidAddress` for an address
    or box of the wrong length or outside the kind's bounds.
    """

    __slots__ = ("_by_lo", "_fingers", "_index", "_states", "kind")

    def __init__(self, kind: AddressKind) -> None:
        self.kind = kind
        self._states: list[_PoolState] = []  # insertion order
        self._by_lo: list[tuple[Address, int, _PoolState]] = []  # sorted by first point
        self._index: BoxIndex[_PoolState] = BoxIndex(len(kind.fields))
        self._fingers: dict[tuple[Box, frozenset[str], tuple[Pool, ...] | None], _Finger] = {}

    @classmethod
    def from_dims(cls, *dims: tuple[str, int, int], name: str = "space") -> AddressSpace:
        """A space of an ad-hoc kind from ``(name, lo, hi)`` triples."""
        return cls(AddressKind(name, tuple(Field(n, lo, hi) for n, lo, hi in dims)))

    def __repr__(self) -> str:
        return f"<AddressSpace {self.kind.name}: {len(self._states)} pools>"

    # ------------------------------------------------------------------ checking input

    def _address(self, address: Sequence[int]) -> Address:
        return self.kind.check(address)

    def _box(self, box: BoxLike) -> Box:
        b = box if isinstance(box, Box) else Box(box)
        if len(b.ranges) != len(self.kind.fields):
            raise InvalidAddress(
                f"{self.kind.name} box {b} has {len(b.ranges)} ranges, "
                f"expected {len(self.kind.fields)}"
            )
        if not self.kind.bounds.contains(b):
            raise InvalidAddress(f"{self.kind.name} box {b} is not within {self.kind.bounds}")
        return b

    def _request_box(self, request: RequestLike | None) -> Box:
        if request is None:
            return self.kind.bounds
        r = Request.coerce(request)
        return self._box(r) if isinstance(r, Box) else r.box(self.kind.bounds)

    # ------------------------------------------------------------------ pools

    @property
    def pools(self) -> list[Pool]:
        """The pools in insertion order (a new list). O(P)."""
        return [st.pool for st in self._states]

    def add_pool(
        self,
        box: BoxLike,
        flags: Iterable[str] = (),
        name: str | None = None,
        data: Any = None,
        dense: bool | None = None,
    ) -> Pool:
        """Add a pool of free addresses. O(d log P + segments cut).

        ``dense`` chooses how the pool keeps its free space: ``True`` a bitmap (one bit per
        address: for small pools, cheapest to create and search), ``False`` sorted runs (memory
        follows the fragmentation, whatever the size), ``None`` (default) a bitmap for pools of at
        most :data:`DENSE_MAX` addresses. Raises :class:`PoolOverlap`, naming both pools, when it
        meets a pool of the space, and :class:`InvalidAddress` for a bitmap of more than
        ``DENSE_MAX * 16`` addresses.
        """
        b = self._box(box)
        clash = self._index.overlapping(b)
        pool = Pool(
            name if name is not None else f"pool #{len(self._states)}",
            b,
            frozenset(flags),
            data,
        )
        if clash:
            other = clash[0].pool
            common = b.intersection(other.box)
            assert common is not None
            raise PoolOverlap(
                f"{self.kind.name} pool {pool.name!r} {b} overlaps pool {other.name!r} "
                f"{other.box} at {common}"
            )
        if dense and b.size > DENSE_MAX * 16:
            raise InvalidAddress(
                f"{self.kind.name} pool {pool.name!r} {b} is too large for a bitmap"
            )
        st = _PoolState(pool, dense)
        self._fingers.clear()
        self._index.add(b, st)
        self._states.append(st)
        insort(self._by_lo, (st.lo, len(self._states), st))
        return pool

    def pool_of(self, address: Sequence[int]) -> Pool | None:
        """The pool holding ``address``, or ``None``. O(d log P)."""
        st = self._index.find(self._address(address))
        return None if st is None else st.pool

    def _state(self, address: Address, what: str = "address") -> _PoolState:
        st = self._index.find(address)
        if st is None:
            raise OutOfPool(f"{self.kind.name} {what} {self.kind.describe(address)} is in no pool")
        return st

    def _candidates(
        self, box: Box, flags: frozenset[str], pools: Collection[Pool] | None
    ) -> list[_PoolState]:
        """Pools meeting ``box`` with all ``flags`` (and among ``pools``), by first point."""
        if pools is not None:
            wanted = {id(p) for p in pools}
            states = [st for _, _, st in self._by_lo if id(st.pool) in wanted]
        elif box == self.kind.bounds:
            states = [st for _, _, st in self._by_lo]
        else:
            states = sorted(self._index.overlapping(box), key=lambda st: st.lo)
        return [st for st in states if flags <= st.pool.flags]

    # ------------------------------------------------------------------ queries

    def is_free(self, address: Sequence[int]) -> bool:
        """Whether ``address`` is in a pool and not reserved. O(d log P + log n)."""
        a = self._address(address)
        st = self._index.find(a)
        return st is not None and st.encode(a) in st.free

    def owner(self, address: Sequence[int]) -> Owner | None:
        """Who reserved ``address``, or ``None`` when it is free or in no pool. O(log n)."""
        a = self._address(address)
        st = self._index.find(a)
        if st is None:
            return None
        hit = st.held.get(st.encode(a))
        return None if hit is None else hit[2]

    def first_free(
        self,
        request: RequestLike | None = None,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
    ) -> Address | None:
        """The lexicographically first free address matching the request, or ``None``.

        ``request`` has one item per dimension: an int, an inclusive ``(lo, hi)`` or ``None``
        (any); a :class:`Box` is also accepted. Only pools whose flags include all of ``flags``
        (and, if given, among ``pools``) are searched. O(P' (d + log n)) for P' pools meeting
        the request, usually far less: the search stops at the first pool whose first point is
        past the best address found.
        """
        found = self._search(self._request_box(request), frozenset(flags), pools)
        return None if found is None else found[2]

    def _search(
        self, box: Box, flags: frozenset[str], pools: Collection[Pool] | None
    ) -> tuple[_PoolState, int, Address] | None:
        key = (box, flags, None if pools is None else tuple(pools))
        finger = self._fingers.get(key)
        if finger is None:
            if len(self._fingers) >= FINGERS:
                del self._fingers[next(iter(self._fingers))]
            finger = self._fingers[key] = _Finger(self._candidates(box, flags, pools), box)
        if finger.exhausted:
            return None
        start = finger.start
        states = finger.states
        i = finger.pos
        if start is not None:
            while i < len(states) and states[i].hi < start:
                i += 1
            finger.pos = i
        best: tuple[_PoolState, int, Address] | None = None
        clips = finger.clips
        for j in range(i, len(states)):
            st = states[j]
            if best is not None and st.lo > best[2]:
                break
            if not st.free.total or (start is not None and st.hi < start):
                continue
            x = st.first_free(clips[j], start)
            if x is not None:
                a = st.decode(x)
                if best is None or a < best[2]:
                    best = (st, x, a)
        if best is None:
            finger.exhausted = True
        else:
            finger.start = best[2]
        return best

    def _search_from_scratch(
        self, box: Box, flags: frozenset[str], pools: Collection[Pool] | None
    ) -> Address | None:
        """:meth:`_search` without fingers, for :meth:`_check`."""
        best: Address | None = None
        for st in self._candidates(box, flags, pools):
            q = st.clip(box)
            x = None if q is None else st.first_free(q)
            if x is not None and (best is None or st.decode(x) < best):
                best = st.decode(x)
        return best

    def _released(self, point: Address) -> None:
        for finger in self._fingers.values():
            finger.lower(point)

    def count_free(self, box: BoxLike | None = None, flags: Iterable[str] = _NO_FLAGS) -> int:
        """How many addresses of ``box`` (default: the whole space) are free, exactly.

        O(log n + k) per pool meeting the box, k the free runs touching it; O(1) per pool the
        box covers.
        """
        b = self.kind.bounds if box is None else self._box(box)
        total = 0
        for st in self._candidates(b, frozenset(flags), None):
            q = st.clip(b)
            if q is not None:
                total += st.count_free(q)
        return total

    def free_boxes(self, box: BoxLike | None = None) -> Iterator[Box]:
        """The free space as boxes in lexicographic order (of their first points).

        Each free run of a pool is cut into at most ``2d - 1`` boxes, as wide as it allows
        (:func:`boxes_between`); with ``box`` those boxes are clipped to it. O(d²) per box.
        """
        b = self.kind.bounds if box is None else self._box(box)
        per_pool = []
        for st in self._candidates(b, _NO_FLAGS, None):
            q = st.clip(b)
            if q is not None:
                per_pool.append(st.free_boxes(None if st.is_whole(q) else q))
        return merge(*per_pool, key=lambda x: x.lo)

    def reservations(self, box: BoxLike | None = None) -> Iterator[tuple[Box, Owner]]:
        """The reserved runs meeting ``box`` as ``(box, owner)`` pairs, pool by pool.

        A run is split into boxes like :meth:`free_boxes` (not clipped).
        """
        b = self.kind.bounds if box is None else self._box(box)
        for st in self._candidates(b, _NO_FLAGS, None):
            q = st.clip(b)
            if q is None:
                continue
            first, last = st.encode([x for x, _ in q]), st.encode([y for _, y in q])
            for lo, hi, owner in list(st.held.overlapping(first, last)):
                for part in boxes_between(st.pool.box, st.decode(lo), st.decode(hi)):
                    yield part, owner

    # ------------------------------------------------------------------ reserving

    def reserve(self, address: Sequence[int], owner: Owner) -> Address:
        """Reserve exactly ``address`` for ``owner``. O(d log P + log n).

        Raises :class:`Collision` (naming the current owner) when it is taken and
        :class:`OutOfPool` when no pool holds it.
        """
        a = self._address(address)
        st = self._state(a)
        x = st.encode(a)
        try:
            st.free.remove(x, x)
        except ValueError:
            hit = st.held.get(x)
            assert hit is not None
            raise self._collision(a, hit[2]) from None
        st.held.insert(x, x, owner)
        return a

    def _collision(self, address: Address, owner: Owner) -> Collision:
        return Collision(
            address,
            owner,
            f"{self.kind.name} address {self.kind.describe(address)} is already reserved "
            f"by {owner!r}",
        )

    def reserve_first(
        self,
        request: RequestLike | None,
        owner: Owner,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
    ) -> Address:
        """Reserve the first free address matching ``request`` (see :meth:`first_free`).

        Deterministic: always the lexicographically smallest. Raises :class:`Exhausted`, whose
        message names the request (and flags, pools), when none is free.
        """
        fl = frozenset(flags)
        box = self._request_box(request)
        found = self._search(box, fl, pools)
        if found is None:
            msg = f"no free {self.kind.name} address in {self.kind.describe_box(box)}"
            if fl:
                msg += f" with flags {', '.join(sorted(fl))}"
            if pools is not None:
                msg += f" in pools {', '.join(repr(p.name) for p in pools)}"
            raise Exhausted(msg)
        st, x, a = found
        st.free.remove(x, x)
        st.held.insert(x, x, owner)
        return a

    def reserve_any(
        self,
        owner: Owner,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
    ) -> Address:
        """Reserve the first free address of the space; :class:`Exhausted` when full."""
        return self.reserve_first(None, owner, flags, pools)

    def _block_parts(
        self, b: Box, what: str
    ) -> list[tuple[_PoolState, tuple[tuple[int, int], ...]]]:
        """The pools covering ``b`` with their part of it; :class:`OutOfPool` if not covered."""
        parts = []
        covered = 0
        for st in self._index.overlapping(b):
            q = st.clip(b)
            assert q is not None
            parts.append((st, q))
            covered += Box(q).size
        if covered != b.size:
            raise OutOfPool(
                f"{self.kind.name} {what} {self.kind.describe_box(b)} is not entirely in pools"
            )
        return parts

    def reserve_block(self, box: BoxLike, owner: Owner) -> Box:
        """Reserve every address of ``box`` for ``owner``, or none of them.

        Raises :class:`OutOfPool` when part of the box is in no pool and :class:`Collision`
        (naming the first reserved address and its owner) when part is taken. A block whose
        points are consecutive in a pool's order is one entry. O(log n + d) per run.
        """
        b = self._box(box)
        parts = self._block_parts(b, "block")
        for st, q in parts:
            if st.count_free(q) != Box(q).size:
                hit = st.first_held(q)
                assert hit is not None
                raise self._collision(st.decode(hit[0]), hit[1])
        for st, q in parts:
            for lo, hi in st.runs(q):
                st.free.remove(lo, hi)
                st.held.insert(lo, hi, owner)
        return b

    # ------------------------------------------------------------------ releasing

    def release(self, address: Sequence[int]) -> Owner:
        """Release ``address`` and return who held it. O(d log P + log n).

        Releasing one address of a block splits the block. Raises :class:`NotReserved` when the
        address is free or in no pool; nothing is ever silently ignored.
        """
        a = self._address(address)
        st = self._index.find(a)
        hit = None if st is None else st.held.get(st.encode(a))
        if st is None or hit is None:
            where = "in no pool" if st is None else "free"
            raise NotReserved(
                f"cannot release {self.kind.name} address {self.kind.describe(a)}: it is {where}"
            )
        x = st.encode(a)
        st.held.remove(x, x)
        st.free.add(x, x)
        self._released(a)
        return hit[2]

    def release_block(self, box: BoxLike) -> None:
        """Release every address of ``box``, which must all be reserved (by anyone).

        All or nothing: raises :class:`NotReserved` naming a free address (or the box, when
        part of it is in no pool) and changes nothing. O(log n + d) per run.
        """
        b = self._box(box)
        try:
            parts = self._block_parts(b, "block")
        except OutOfPool as e:
            raise NotReserved(f"cannot release: {e}") from None
        for st, q in parts:
            if st.count_free(q):
                x = st.first_free(q)
                assert x is not None
                raise NotReserved(
                    f"cannot release {self.kind.name} block {self.kind.describe_box(b)}: "
                    f"{self.kind.describe(st.decode(x))} is free"
                )
        for st, q in parts:
            for lo, hi in st.runs(q):
                st.held.remove(lo, hi)
                st.free.add(lo, hi)
        self._released(b.lo)

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert every invariant of the space; for tests. O(P² + total runs)."""
        assert len(self._by_lo) == len(self._states)
        assert [k[0] for k in self._by_lo] == sorted(st.lo for st in self._states)
        assert {id(st) for _, _, st in self._by_lo} == {id(st) for st in self._states}
        for i, st in enumerate(self._states):
            box = st.pool.box
            assert self.kind.bounds.contains(box), f"pool {st.pool} out of bounds"
            assert st.size == box.size
            assert self._index.find(box.lo) is st and self._index.find(box.hi) is st
            for other in self._states[:i]:
                assert not box.overlaps(other.pool.box), f"{st.pool} overlaps {other.pool}"
            st.free._check()
            if isinstance(st.free, BitSet):
                assert st.free.size == st.size, f"pool {st.pool.name}: bitmap of the wrong size"
            st.held._check()
            # Free and held runs partition 0 .. size - 1.
            runs = sorted([(a, b) for a, b in st.free] + [(a, b) for a, b, _ in st.held])
            nxt = 0
            for a, b in runs:
                assert a == nxt, f"pool {st.pool.name}: linear index {nxt} lost or doubled"
                nxt = b + 1
            assert nxt == st.size, f"pool {st.pool.name}: runs end at {nxt}, size {st.size}"
            assert st.free.total == sum(b - a + 1 for a, b in st.free)
        for (box, flags, pools), finger in self._fingers.items():
            truth = self._search_from_scratch(box, flags, pools)
            if finger.exhausted:
                assert truth is None, f"finger for {box} says exhausted, {truth} is free"
            elif finger.start is not None:
                assert truth is None or truth >= finger.start, f"finger for {box} skips {truth}"
                assert all(st.hi < finger.start for st in finger.states[: finger.pos])
