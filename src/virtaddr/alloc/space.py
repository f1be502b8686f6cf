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

from bisect import bisect_left, insort
from collections.abc import Collection, Hashable, Iterable, Iterator, Sequence
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

__all__ = ["AddressSpace", "Pool", "PoolRow", "Search"]

Address = tuple[int, ...]
Owner = Hashable
_NO_FLAGS: frozenset[str] = frozenset()


class _Shape:
    """What every pool of one shape shares: strides, size, representation, block masks.

    Cached per (range sizes, representation), so that creating a pool is one small object and
    one int: a domain builds hundreds of PCI buses of a handful of shapes.
    """

    __slots__ = ("blocks", "dense", "masks", "one", "plans", "size", "sizes", "strides")

    def __init__(self, sizes: tuple[int, ...], dense: bool) -> None:
        self.sizes = sizes
        self.one = len(sizes) == 1
        strides: list[int] = []
        n = 1
        for k in reversed(sizes):
            strides.append(n)
            n *= k
        strides.reverse()
        self.strides = tuple(strides)
        self.size = n
        self.dense = dense
        # Bitmap pools: the bits of each relative box, and per block length the block starts.
        self.masks: dict[tuple[tuple[int, int], ...], int] = {}
        self.blocks: dict[int, int] = {}
        self.plans: dict[int, tuple[tuple[int, ...], int, int]] = {}

    def block_plan(self, length: int) -> tuple[tuple[int, ...], int, int]:
        """How :meth:`Pool.block_free_bits` finds whole free blocks of ``length``
        (:func:`_block_plan`: the same for every size)."""
        return _block_plan(length)

    def block_starts(self, length: int) -> int:
        """The bits at multiples of ``length`` below ``size`` (a bitmap pool's block starts)."""
        m = self.blocks.get(length)
        if m is None:
            count = -(-self.size // length)
            # 1 + 2**L + 2**2L + ...: a geometric series, one division in C.
            m = self.blocks[length] = ((1 << (length * count)) - 1) // ((1 << length) - 1)
        return m


_PLANS: dict[int, tuple[tuple[int, ...], int, int]] = {}


def _block_plan(length: int) -> tuple[tuple[int, ...], int, int]:
    """The shifts (summing to ``length - 1``) after which a block start's bit survives
    ``m &= m >> s`` only when its ``length`` bits are all set; the block starts of the largest
    bitmap (a mask for any smaller: a pool's bits stop at its size); one block's bits.

    >>> shifts, starts, one = _block_plan(8); shifts, bin(starts)[-17:], one
    ((1, 2, 4), '10000000100000001', 255)
    """
    plan = _PLANS.get(length)
    if plan is None:
        shifts = []
        span = 1
        while span < length:
            s = min(span, length - span)
            shifts.append(s)
            span += s
        count = -(-DENSE_MAX * 16 // length)
        starts = ((1 << (length * count)) - 1) // ((1 << length) - 1)  # 1 + 2**L + 2**2L ...
        plan = _PLANS[length] = (tuple(shifts), starts, (1 << length) - 1)
    return plan


_SHAPES: dict[tuple[tuple[int, ...], bool | None], _Shape] = {}
_SHAPES_MAX = 1024


def _shape(sizes: tuple[int, ...], dense: bool | None) -> _Shape:
    """The shape of pools of these range sizes (``dense`` as :meth:`AddressSpace.add_pool`)."""
    shape = _SHAPES.get((sizes, dense))
    if shape is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        size = 1
        for k in sizes:
            size *= k
        shape = _Shape(sizes, size <= DENSE_MAX if dense is None else dense)
        _SHAPES[(sizes, dense)] = shape
    return shape


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


_FingerKey = tuple[Box, frozenset[str], "tuple[Pool, ...] | None", frozenset[str], int, Hashable]


def _matches(st: Pool, flags: frozenset[str], any_flags: frozenset[str]) -> bool:
    """Whether pool ``st`` has every flag of ``flags`` and (if any are given) one of
    ``any_flags``: libvirt's bus choice is the second (the connect types overlap)."""
    return flags <= st._flags and (not any_flags or not any_flags.isdisjoint(st._flags))


class _Finger:
    """Where the searches for one request stand, so that the next starts there.

    ``cursor`` indexes the space's pools sorted by first point (``_by_lo``): none of the pools
    before it holds a free address the request would take, and in the pool at the cursor none
    below linear index ``start``. Reserving never invalidates a finger; a release, a block
    opened to the finger's share and a pool inserted before the cursor move it back
    (:meth:`lower`); a pool added after the last one is simply reached. What the request asks of
    the pool it last looked at (the part of the box in it, and for a bitmap its bits) is kept,
    so that a search filling one pool works that out once.
    """

    __slots__ = (
        "any_flags",
        "blocks",
        "box",
        "cur",
        "cur_len",
        "cur_mask",
        "cur_plan",
        "cur_q",
        "cursor",
        "epoch",
        "flags",
        "hot",
        "live",
        "rows",
        "share",
        "start",
        "wanted",
        "whole",
    )

    def __init__(self, key: _FingerKey) -> None:
        box, flags, pools, any_flags, whole, share = key
        self.box = box
        self.flags = flags
        self.any_flags = any_flags
        self.wanted = None if pools is None else {id(p) for p in pools}
        self.whole = whole
        self.share = share
        self.blocks = whole > 0 or share is not None
        self.cursor = 0
        self.start = 0
        self.cur: Pool | None = None
        self.cur_q: tuple[tuple[int, int], ...] | None = None
        self.cur_mask = -1
        self.cur_len = 1  # (bitmap) the block length in cur
        self.cur_plan: tuple[tuple[int, ...], int, int] | None = None  # its block_plan
        self.rows: dict[PoolRow, tuple[bool, int, int]] = {}  # what look_at found per row
        self.live = True  # False once the space dropped it (a Search then makes another)
        # The pool at the cursor when it is ``cur``, a bitmap, and no later pool can hold a
        # smaller address (as of the space's pool count ``epoch``): Search.take_index's fast path.
        self.hot: Pool | None = None
        self.epoch = -1

    def lower(self, index: int) -> None:
        """The pool at ``index`` of ``_by_lo`` may hold a free address the request takes."""
        if index <= self.cursor:
            self.cursor = index
            self.start = 0
            self.hot = None

    def look_at(self, st: Pool) -> None:
        """Work out what the request asks of pool ``st`` (it becomes ``cur``): whether it may
        take addresses there, the part of the box in it, and for a bitmap the box's bits and the
        block length. Pools of one row share the answer (:meth:`AddressSpace.row`), but for the
        row's own dimension, checked here."""
        self.cur = st
        self.hot = None
        row = st.row
        if row is not None and self.wanted is None:
            memo = self.rows.get(row)
            if memo is not None:
                ok, mask, length = memo
                lo, hi = self.box.ranges[row._dim]
                if not ok or lo <= st.lo[row._dim] <= hi:
                    self.cur_q = _ROW if ok else None
                    self.cur_mask, self.cur_len = mask, length
                    self.cur_plan = row.shape.block_plan(length) if length > 1 else None
                    return
        q: tuple[tuple[int, int], ...] | None = None
        ok = _matches(st, self.flags, self.any_flags) and (
            self.wanted is None or id(st) in self.wanted
        )
        if ok:
            q = st.clip(self.box)
        self.cur_q = q
        dense = q is not None and type(st.free) is BitSet
        self.cur_mask = st.mask(q) if dense and not st.is_whole(q) else -1  # type: ignore[arg-type]
        self.cur_len = st.block_length(self.whole) if dense and self.whole > 0 else 1
        self.cur_plan = st.shape.block_plan(self.cur_len) if self.cur_len > 1 else None
        if row is not None and self.wanted is None and (not ok or dense):
            if len(self.rows) >= FINGERS:
                self.rows.clear()
            self.rows[row] = (ok, self.cur_mask, self.cur_len)

    def first_in(self, st: Pool, start: int = 0) -> int | None:
        """The smallest linear index ``>= start`` of pool ``st`` the request would take."""
        if st is not self.cur:
            self.look_at(st)
        q = self.cur_q
        if q is None:
            return None
        free = st.free
        if type(free) is BitSet:
            m = free._bits
            if self.blocks:
                opened = 0
                if self.share is not None and st.opened is not None:
                    opened = st.opened.get(self.share, 0) & m
                plan = self.cur_plan
                if plan is not None:
                    shifts, starts, one = plan
                    for s in shifts:
                        m &= m >> s
                    m = (m & starts) * one
                m |= opened
            m = (m & self.cur_mask) >> start
            return None if not m else start + (m & -m).bit_length() - 1
        if not free.total:
            return None
        at = None if not start else st.decode(start)
        if self.blocks:
            return st.first_free_block(q, at, self.whole, self.share)
        return st.first_free(q, at)


#: What :meth:`_Finger.look_at` keeps as the part of the box in a bitmap pool of a known row:
#: it is not needed there (the mask says it), only that it is not ``None``.
_ROW: tuple[tuple[int, int], ...] = ()


#: How many request fingers a space keeps (the oldest is dropped first).
FINGERS = 32


#: Pools of at most this many addresses keep their free space as a bitmap (:class:`BitSet`),
#: larger ones as runs (:class:`IntervalSet`). A PCI bus is 256 functions, a drive bus a few
#: dozen units: for those one int is cheaper to create, query and update than sorted lists.
DENSE_MAX = 1024

#: How many request-box masks a bitmap pool shape keeps (the oldest are dropped together).
_MASKS_MAX = 4096


class Pool:
    """A box of addresses the space may hand out, with flags and caller data, and its state.

    Pools compare by identity; ``name``, ``box``, ``flags`` and ``data`` are read-only. ``data``
    is anything the caller wants back from :meth:`AddressSpace.pool_of` (the PCI pass keeps its
    bus there). A pool numbers its points in lexicographic order as a mixed-radix linear index
    and keeps its free set over ``0 .. size - 1`` (a :class:`BitSet` or an
    :class:`IntervalSet`), who holds the rest (:class:`Holdings`, made on the first
    reservation) and which blocks are open to sharing (made on the first shared one).
    """

    __slots__ = (
        "_box",
        "_data",
        "_flags",
        "_held",
        "_name",
        "free",
        "hi",
        "lo",
        "number",
        "one",
        "opened",
        "row",
        "shape",
        "size",
        "strides",
    )

    free: IntervalSet | BitSet
    _box: Box | None
    _held: Holdings | None

    def __init__(
        self, name: str, box: Box, flags: frozenset[str] = _NO_FLAGS, data: Any = None
    ) -> None:
        ranges = box.ranges
        self._setup(
            tuple([a for a, _ in ranges]),
            tuple([b for _, b in ranges]),
            _shape(tuple([b - a + 1 for a, b in ranges]), None),
            flags,
            data,
            name,
            0,
        )
        self._box = box

    def _setup(
        self,
        lo: Address,
        hi: Address,
        shape: _Shape,
        flags: frozenset[str],
        data: Any,
        name: str | None,
        number: int,
    ) -> None:
        self.lo = lo  # the first point, for order
        self.hi = hi
        self.shape = shape
        self.strides = shape.strides
        self.one = shape.one
        self.size = shape.size
        self._flags = flags
        self._data = data
        self._name = name
        self.number = number
        self._box = None
        self._held = None
        self.opened: dict[Hashable, int] | None = None
        self.row: PoolRow | None = None
        self.free = BitSet(shape.size) if shape.dense else IntervalSet.full(shape.size)

    @property
    def name(self) -> str:
        return f"pool #{self.number}" if self._name is None else self._name

    @property
    def box(self) -> Box:
        box = self._box
        if box is None:
            box = self._box = Box.__new__(Box)
            object.__setattr__(box, "ranges", tuple(zip(self.lo, self.hi, strict=True)))
        return box

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return self.box.ranges

    @property
    def flags(self) -> frozenset[str]:
        return self._flags

    @property
    def data(self) -> Any:
        return self._data

    @property
    def held(self) -> Holdings:
        held = self._held
        if held is None:
            held = self._held = Holdings(self.free)
        return held

    def __str__(self) -> str:
        return f"{self.name} {self.box}"

    def __repr__(self) -> str:
        return f"<Pool {self}>"

    def encode(self, address: Sequence[int]) -> int:
        """The linear index of a point of the pool. O(d)."""
        if self.one:
            return address[0] - self.lo[0]
        x = 0
        for v, lo, s in zip(address, self.lo, self.strides, strict=True):
            x += (v - lo) * s
        return x

    def decode(self, x: int) -> Address:
        """The point at linear index ``x``. O(d)."""
        if self.one:
            return (self.lo[0] + x,)
        out = []
        for lo, s in zip(self.lo, self.strides, strict=True):
            q, x = divmod(x, s)
            out.append(lo + q)
        return tuple(out)

    def take(self, x: int, owner: Owner) -> bool:
        """Reserve linear index ``x`` for ``owner`` if it is free; whether it was. O(1) for a
        bitmap, O(log n) for runs.

        The fast path of a caller that found ``x`` itself (a search of this pool, the first
        address of a pool just added): no bounds check beyond ``0 <= x < size``, no owner
        named when it is taken. Searches are not affected (taking never hides a free address
        from them); opening a block to sharing goes through :meth:`AddressSpace.take`.
        """
        free = self.free
        if type(free) is BitSet:
            bits = free._bits
            if x < 0 or not bits >> x & 1:
                return False
            free._bits = bits ^ (1 << x)
            free._total -= 1
        else:
            try:
                free.remove(x, x)  # (changes nothing when x is not in it)
            except ValueError:
                return False
        held = self._held
        if held is None:
            held = self._held = Holdings(free)
        held.points[x] = owner
        return True

    def is_free_at(self, x: int) -> bool:
        """Whether linear index ``x`` is free. O(1) for a bitmap."""
        return 0 <= x < self.size and x in self.free

    def clip(self, box: Box) -> tuple[tuple[int, int], ...] | None:
        """``box`` within the pool as ranges, or ``None`` when they do not meet. O(d)."""
        out = []
        for (a, b), lo, hi in zip(box.ranges, self.lo, self.hi, strict=True):
            a, b = max(a, lo), min(b, hi)
            if a > b:
                return None
            out.append((a, b))
        return tuple(out)

    def is_whole(self, q: Sequence[tuple[int, int]]) -> bool:
        return all(a == lo and b == hi for (a, b), lo, hi in zip(q, self.lo, self.hi, strict=True))

    def contiguous_from(self, q: Sequence[tuple[int, int]]) -> int:
        """The first dimension ``k`` such that every dimension after ``k`` is whole in ``q``."""
        k = len(q) - 1
        while k > 0 and q[k] == (self.lo[k], self.hi[k]):
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
            lo = self.lo[0]
            if start is not None and start[0] > a:
                a = start[0]
            run = self.free.find(a - lo)
            if run is None or run[0] > b - lo:
                return None
            return max(a - lo, run[0])
        if start is None or start <= self.lo:
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
        key = tuple([(a - lo, b - lo) for (a, b), lo in zip(q, self.lo, strict=True)])
        masks = self.shape.masks
        m = masks.get(key)
        if m is None:
            m = 0
            for lo, hi in self.runs(q):
                m |= ((1 << (hi - lo + 1)) - 1) << lo
            if len(masks) >= _MASKS_MAX:
                masks.clear()
            masks[key] = m
        return m

    def block_length(self, whole: int) -> int:
        """How many linear indices a block of the last ``whole`` dimensions spans."""
        return 1 if whole <= 0 else self.strides[-whole - 1] if whole < len(self.lo) else self.size

    def block_free_bits(self, length: int) -> int:
        """(Bitmap pool.) The bits of the free addresses whose whole block of ``length`` is
        free: a block start survives ``m &= m >> s`` for shifts summing to ``length - 1`` only
        when its ``length`` bits are all set; it is then spread back over its block."""
        m = self.free._bits  # type: ignore[union-attr]
        if length == 1:
            return m
        shifts, starts, one = self.shape.block_plan(length)
        for s in shifts:
            m &= m >> s
        return (m & starts) * one  # blocks are aligned and apart: no carries

    def block_is_free(self, x: int, length: int) -> bool:
        """Whether the block of ``length`` holding linear index ``x`` is wholly free."""
        start = x - x % length
        return self.free.covers(start, start + length - 1)

    def open_block(self, x: int, length: int, share: Hashable) -> None:
        """Mark the block of ``x`` open to requests sharing ``share``."""
        start = x - x % length
        bits = ((1 << length) - 1) << start
        if self.opened is None:
            self.opened = {share: bits}
        else:
            self.opened[share] = self.opened.get(share, 0) | bits

    def is_open(self, x: int, share: Hashable) -> bool:
        return self.opened is not None and (self.opened.get(share, 0) >> x) & 1 == 1

    def first_free_block(
        self,
        q: Sequence[tuple[int, int]],
        start: Address | None,
        whole: int,
        share: Hashable,
    ) -> int | None:
        """The smallest linear index in ``q`` (at or after ``start``) that is free and whose
        block (the last ``whole`` dimensions) is wholly free or open to ``share``."""
        length = self.block_length(whole)
        if start is None or start <= self.lo:
            first = self.encode([a for a, _ in q])
        else:
            p = next_point(q, start)
            if p is None:
                return None
            first = self.encode(p)
        opened = 0
        if share is not None and self.opened is not None:
            opened = self.opened.get(share, 0)
        if isinstance(self.free, BitSet):
            m = self.block_free_bits(length)
            if opened:
                m |= self.free._bits & opened
            m = (m & self.mask(q)) >> first
            return None if not m else first + (m & -m).bit_length() - 1
        # Runs: step through the free points of q, block by block.
        x: int | None = self.first_free(q, self.decode(first))
        while x is not None:
            if self.block_is_free(x, length) or (opened >> x) & 1:
                return x
            nxt = x + 1 if opened else x - x % length + length
            if nxt >= self.size:
                return None
            x = self.first_free(q, self.decode(nxt))
        return None

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
            for box in boxes_between(self.box, self.decode(a), self.decode(b)):
                if clip is None:
                    yield box
                else:
                    part = box.intersection(clip)
                    if part is not None:
                        yield part


class PoolRow:
    """Pools of one shape and flags along one dimension (see :meth:`AddressSpace.row`)."""

    __slots__ = ("_bottom", "_dim", "_head_hi", "_head_lo", "_space", "_tail_hi", "_tail_lo",
                 "flags", "shape")  # fmt: skip

    def __init__(
        self,
        space: AddressSpace,
        ranges: Sequence[tuple[int, int]],
        dim: int,
        shape: _Shape,
        flags: frozenset[str],
    ) -> None:
        self._space = space
        self._dim = dim
        self.shape = shape
        self.flags = flags
        lo = tuple([a for a, _ in ranges])
        hi = tuple([b for _, b in ranges])
        self._head_lo, self._tail_lo = lo[:dim], lo[dim + 1 :]
        self._head_hi, self._tail_hi = hi[:dim], hi[dim + 1 :]
        field = space.kind.fields[dim]
        self._bottom = (field.lo, field.hi, field.name)

    @property
    def dim(self) -> int:
        return self._dim

    def add(self, value: int, data: Any = None) -> Pool:
        """Add the row's pool at ``value`` (with ``data``). O(1) while every pool of the space
        is a single point in the leading dimensions, as :meth:`AddressSpace.add_pool`.

        Raises :class:`InvalidAddress` for a value outside the dimension's bounds and
        :class:`PoolOverlap` when the pool meets another.
        """
        bottom, top, name = self._bottom
        if type(value) is not int or not bottom <= value <= top:
            raise InvalidAddress(
                f"{self._space.kind.name} {name} {value!r} is not within {bottom}..{top}"
            )
        pool = self._space._add_pool(
            (*self._head_lo, value, *self._tail_lo),
            (*self._head_hi, value, *self._tail_hi),
            self.shape,
            self.flags,
            None,
            data,
        )
        pool.row = self
        return pool


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

    __slots__ = ("_by_lo", "_cells", "_fingers", "_index", "_k", "_states", "kind")

    def __init__(self, kind: AddressKind) -> None:
        self.kind = kind
        self._states: list[Pool] = []  # insertion order
        self._by_lo: list[tuple[Address, int, Pool]] = []  # sorted by first point
        # Where a point's pool is found. While every pool is a single point in the first ``_k``
        # dimensions (a PCI bus, a virtio-serial controller), a dict from that prefix: adding a
        # pool is then one dict store. Otherwise (``_k == 0``) a trie of boxes, built from the
        # pools the first time one does not fit the dict. ``_k == -1``: no pool yet.
        self._k = -1
        self._cells: dict[Address, Pool] = {}
        self._index: BoxIndex[Pool] | None = None
        self._fingers: dict[_FingerKey, _Finger] = {}

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

    def _ranges(self, box: BoxLike) -> tuple[tuple[int, int], ...]:
        """``box`` checked as :meth:`_box` does, as its ranges; without making a :class:`Box`
        when it is given as ``(lo, hi)`` int pairs within the bounds (a pool being added)."""
        if not isinstance(box, Box):
            ranges = tuple(box)
            bounds = self.kind.bounds.ranges
            if len(ranges) == len(bounds):
                for r, (lo, hi) in zip(ranges, bounds, strict=True):
                    if type(r) is not tuple or len(r) != 2:
                        break
                    a, b = r
                    if type(a) is not int or type(b) is not int or not lo <= a <= b <= hi:
                        break
                else:
                    return ranges  # type: ignore[return-value]
        return self._box(box).ranges

    def _request_box(self, request: RequestLike | None) -> Box:
        if request is None:
            return self.kind.bounds
        r = Request.coerce(request)
        return self._box(r) if isinstance(r, Box) else r.box(self.kind.bounds)

    # ------------------------------------------------------------------ pools

    @property
    def pools(self) -> list[Pool]:
        """The pools in insertion order (a new list). O(P)."""
        return list(self._states)

    def add_pool(
        self,
        box: BoxLike,
        flags: Iterable[str] = (),
        name: str | None = None,
        data: Any = None,
        dense: bool | None = None,
    ) -> Pool:
        """Add a pool of free addresses. O(d) while every pool is a single point in the
        leading dimensions (as one per bus), else O(d log P + segments cut).

        ``dense`` chooses how the pool keeps its free space: ``True`` a bitmap (one bit per
        address: for small pools, cheapest to create and search), ``False`` sorted runs (memory
        follows the fragmentation, whatever the size), ``None`` (default) a bitmap for pools of at
        most :data:`DENSE_MAX` addresses. Raises :class:`PoolOverlap`, naming both pools, when it
        meets a pool of the space, and :class:`InvalidAddress` for a bitmap of more than
        ``DENSE_MAX * 16`` addresses. The name defaults to ``pool #N``, N its insertion rank.
        """
        fl = flags if type(flags) is frozenset else frozenset(flags)
        return self._add(self._ranges(box), fl, name, data, dense)

    def add_pools(
        self,
        boxes: Iterable[BoxLike],
        flags: Iterable[str] = (),
        data: Sequence[Any] | None = None,
        dense: bool | None = None,
    ) -> list[Pool]:
        """Add one pool per box, all with ``flags`` (and ``data[i]`` for the i-th), in order.

        What :meth:`add_pool` does, for the hundreds of buses a pass builds at once.
        """
        fl = flags if type(flags) is frozenset else frozenset(flags)
        add, check = self._add, self._ranges
        if data is None:
            return [add(check(box), fl, None, None, dense) for box in boxes]
        return [add(check(box), fl, None, d, dense) for box, d in zip(boxes, data, strict=True)]

    def _add(
        self,
        ranges: tuple[tuple[int, int], ...],
        flags: frozenset[str],
        name: str | None,
        data: Any,
        dense: bool | None,
    ) -> Pool:
        lo = tuple([a for a, _ in ranges])
        hi = tuple([b for _, b in ranges])
        shape = self._dense_shape(ranges, dense, name)
        return self._add_pool(lo, hi, shape, flags, name, data)

    def add_pools_along(
        self,
        box: BoxLike,
        dim: int,
        values: Iterable[int],
        flags: Iterable[str] = (),
        data: Sequence[Any] | None = None,
        dense: bool | None = None,
    ) -> list[Pool]:
        """One pool per value ``v``: ``box`` with its dimension ``dim`` made ``{v..v}``.

        :meth:`row` and :meth:`PoolRow.add` for each value (``data[i]`` with the i-th). Raises
        as :meth:`add_pool` does.
        """
        add = self.row(box, dim, flags, dense).add
        if data is None:
            return [add(v) for v in values]
        return [add(v, d) for v, d in zip(values, data, strict=True)]

    def row(
        self, box: BoxLike, dim: int, flags: Iterable[str] = (), dense: bool | None = None
    ) -> PoolRow:
        """A row of pools of one shape, added one value at a time (:meth:`PoolRow.add`): a bus
        per controller index. The box (its dimension ``dim`` is ignored), the flags and the
        shape are checked and made once, so each pool then costs one small object and an int,
        and a search meeting many pools of a row works out what it asks of them once.

        >>> space = AddressSpace.from_dims(("bus", 0, 255), ("slot", 0, 31))
        >>> buses = space.row([(0, 0), (1, 31)], 0, flags={"pci"})
        >>> [str(buses.add(b)) for b in (0, 1)]
        ['pool #0 {0..0}{1..31}', 'pool #1 {1..1}{1..31}']
        """
        fl = flags if type(flags) is frozenset else frozenset(flags)
        ranges = list(self._ranges(box))
        ranges[dim] = (0, 0)
        shape = self._dense_shape(ranges, dense, name=None)
        return PoolRow(self, ranges, dim, shape, fl)

    def _dense_shape(
        self, ranges: Sequence[tuple[int, int]], dense: bool | None, name: str | None
    ) -> _Shape:
        """The shape of pools of ``ranges``; :class:`InvalidAddress` for a bitmap too large."""
        shape = _shape(tuple([b - a + 1 for a, b in ranges]), dense)
        if shape.dense and shape.size > DENSE_MAX * 16:
            what = "pool" if name is None else f"pool {name!r}"
            raise InvalidAddress(f"{self.kind.name} {what} {Box(ranges)} is too large for a bitmap")
        return shape

    def _add_pool(
        self,
        lo: Address,
        hi: Address,
        shape: _Shape,
        flags: frozenset[str],
        name: str | None,
        data: Any,
    ) -> Pool:
        states = self._states
        pool = Pool.__new__(Pool)
        pool._setup(lo, hi, shape, flags, data, name, len(states))
        k = self._k
        if k < 0:
            k = 0
            while k < len(lo) and lo[k] == hi[k]:
                k += 1
            self._k = k
            if not k:
                self._index = None  # (made by _trie, empty)
        if k > 0:
            key = lo[:k]
            if key != hi[:k] or key in self._cells:
                self._raise_overlap(pool)
                self._to_trie()
                k = 0
            else:
                self._cells[key] = pool
        if k == 0:
            self._raise_overlap(pool)
            self._trie().add(pool.box, pool)
        states.append(pool)
        by_lo = self._by_lo
        if not by_lo or by_lo[-1][0] < lo:
            by_lo.append((lo, len(states), pool))
        else:
            insort(by_lo, (lo, len(states), pool))
            at = bisect_left(by_lo, (lo,))
            for finger in self._fingers.values():
                finger.lower(at)  # (the pools after it moved up by one)
        return pool

    def _raise_overlap(self, pool: Pool) -> None:
        clash = self._overlapping(pool.box)
        if clash:
            other = clash[0]
            common = pool.box.intersection(other.box)
            assert common is not None
            raise PoolOverlap(
                f"{self.kind.name} pool {pool.name!r} {pool.box} overlaps pool {other.name!r} "
                f"{other.box} at {common}"
            )

    def _to_trie(self) -> None:
        """Leave the prefix dict for the trie (a pool that is not a single point in front)."""
        self._index = None
        self._cells = {}
        self._k = 0
        self._trie()

    def _trie(self) -> BoxIndex[Pool]:
        """The trie of the pools (made on first use)."""
        index = self._index
        if index is None:
            index = self._index = BoxIndex(len(self.kind.fields))
            for st in self._states:
                index.add(st.box, st)
        return index

    def _find(self, point: Address) -> Pool | None:
        """The pool holding ``point``. O(d) with the prefix dict, O(d log P) with the trie."""
        k = self._k
        if k > 0:
            st = self._cells.get(point[:k])
            if st is None:
                return None
            for v, lo, hi in zip(point, st.lo, st.hi, strict=True):
                if v < lo or v > hi:
                    return None
            return st
        if k == 0:
            return self._trie().find(point)
        return None

    def _overlapping(self, box: Box) -> list[Pool]:
        """The pools meeting ``box``, in no particular order."""
        k = self._k
        if k > 0:
            ranges = box.ranges
            if all(a == b for a, b in ranges[:k]):
                st = self._cells.get(tuple([a for a, _ in ranges[:k]]))
                return [] if st is None or st.clip(box) is None else [st]
            return [st for st in self._states if st.clip(box) is not None]
        if k == 0:
            return self._trie().overlapping(box)
        return []

    def pool_of(self, address: Sequence[int]) -> Pool | None:
        """The pool holding ``address``, or ``None``. O(d log P)."""
        return self._find(self._address(address))

    def _state(self, address: Address, what: str = "address") -> Pool:
        st = self._find(address)
        if st is None:
            raise OutOfPool(f"{self.kind.name} {what} {self.kind.describe(address)} is in no pool")
        return st

    def _candidates(
        self,
        box: Box,
        flags: frozenset[str],
        pools: Collection[Pool] | None,
        any_flags: frozenset[str] = _NO_FLAGS,
    ) -> list[Pool]:
        """Pools meeting ``box`` with all ``flags``, one of ``any_flags`` (when given) and among
        ``pools`` (when given), by first point."""
        if pools is not None:
            wanted = {id(p) for p in pools}
            states = [st for _, _, st in self._by_lo if id(st) in wanted]
        elif box == self.kind.bounds:
            states = [st for _, _, st in self._by_lo]
        else:
            states = sorted(self._overlapping(box), key=lambda st: st.lo)
        return [st for st in states if _matches(st, flags, any_flags)]

    # ------------------------------------------------------------------ queries

    def is_free(self, address: Sequence[int]) -> bool:
        """Whether ``address`` is in a pool and not reserved. O(d log P + log n)."""
        a = self._address(address)
        st = self._find(a)
        return st is not None and st.encode(a) in st.free

    def is_block_free(self, address: Sequence[int], whole: int) -> bool:
        """Whether ``address`` is in a pool and the block of its last ``whole`` dimensions (all
        addresses that differ from it only there, within the pool) is wholly free."""
        a = self._address(address)
        st = self._find(a)
        return st is not None and st.block_is_free(st.encode(a), st.block_length(whole))

    def is_open(self, address: Sequence[int], share: Hashable) -> bool:
        """Whether the block of ``address`` was opened to ``share`` (see :meth:`reserve`)."""
        a = self._address(address)
        st = self._find(a)
        return st is not None and st.is_open(st.encode(a), share)

    def owner(self, address: Sequence[int]) -> Owner | None:
        """Who reserved ``address``, or ``None`` when it is free or in no pool. O(log n)."""
        a = self._address(address)
        st = self._find(a)
        if st is None or st._held is None:
            return None
        hit = st._held.get(st.encode(a))
        return None if hit is None else hit[2]

    def first_free(
        self,
        request: RequestLike | None = None,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
        *,
        any_flags: Iterable[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> Address | None:
        """The lexicographically first free address matching the request, or ``None``.

        ``request`` has one item per dimension: an int, an inclusive ``(lo, hi)`` or ``None``
        (any); a :class:`Box` is also accepted. Only pools whose flags include all of ``flags``
        and, when ``any_flags`` is given, at least one of them (and, if given, among ``pools``)
        are searched. With ``whole`` = k, only an address whose block (the addresses differing
        from it in the last k dimensions only, within its pool: a PCI slot's 8 functions for
        k = 1) is wholly free qualifies, or, with ``share``, one in a block opened to ``share``
        (see :meth:`reserve`). O(P' (d + log n)) for P' pools meeting the request, usually far
        less: the search stops at the first pool whose first point is past the best address
        found, and resumes where the previous search for the same request stopped.
        """
        found = self._search(
            self._request_box(request),
            flags if type(flags) is frozenset else frozenset(flags),
            pools,
            any_flags if type(any_flags) is frozenset else frozenset(any_flags),
            whole,
            share,
        )
        return None if found is None else found[0].decode(found[1])

    def _search(
        self,
        box: Box,
        flags: frozenset[str],
        pools: Collection[Pool] | None,
        any_flags: frozenset[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> tuple[Pool, int] | None:
        key = (box, flags, None if pools is None else tuple(pools), any_flags, whole, share)
        finger = self._fingers.get(key)
        if finger is None:
            finger = self._finger(key)
        return self._scan(finger)

    def _finger(self, key: _FingerKey) -> _Finger:
        if len(self._fingers) >= FINGERS:
            self._fingers.pop(next(iter(self._fingers))).live = False
        finger = self._fingers[key] = _Finger(key)
        return finger

    def _scan(self, finger: _Finger) -> tuple[Pool, int] | None:
        """The first free address of the finger's request as ``(pool, linear index)``.

        From the finger's cursor, pool by pool in the order of their first points: the pools
        passed over hold nothing the request takes, so the cursor moves past them for good (until
        :meth:`_Finger.lower`). Amortised O(1) pools a search when pools fill in order.
        """
        by_lo = self._by_lo
        n = len(by_lo)
        i = finger.cursor
        x = None
        st: Pool | None = None
        finger.hot = None
        if i < n:
            st = by_lo[i][2]
            x = finger.first_in(st, finger.start)
            while x is None:
                i += 1
                if i == n:
                    break
                st = by_lo[i][2]
                x = finger.first_in(st)
        finger.cursor = i
        if x is None or st is None:
            finger.start = 0
            return None
        finger.start = x
        # A pool after this one may still hold a smaller address when its first point is not
        # past this pool's last (pools are disjoint boxes, not intervals of the order).
        j = i + 1
        if j < n and by_lo[j][0] < st.hi:
            best, bx, a = st, x, st.decode(x)
            while j < n and by_lo[j][0] < a:
                other = by_lo[j][2]
                y = finger.first_in(other)
                if y is not None and other.decode(y) < a:
                    best, bx, a = other, y, other.decode(y)
                j += 1
            finger.cur = None  # (first_in's memo now holds another pool)
            return best, bx
        if type(st.free) is BitSet and st is finger.cur:
            finger.hot = st
            finger.epoch = len(by_lo)
        return st, x

    def _first_from_scratch(self, key: _FingerKey, st: Pool) -> int | None:
        """The first linear index of ``st`` that the search ``key`` takes, worked out without
        fingers, for :meth:`_check`."""
        box, flags, pools, any_flags, whole, share = key
        if not _matches(st, flags, any_flags) or (
            pools is not None and not any(st is p for p in pools)
        ):
            return None
        q = st.clip(box)
        if q is None:
            return None
        if whole > 0 or share is not None:
            return st.first_free_block(q, None, whole, share)
        return st.first_free(q)

    def _open(self, st: Pool, x: int, whole: int, share: Hashable) -> None:
        """Open the block of ``x`` to ``share`` if it is wholly free. Searches sharing it may
        now find its addresses, below where they stopped."""
        length = st.block_length(whole)
        if st.block_is_free(x, length):
            st.open_block(x, length, share)
            if self._fingers:
                at = bisect_left(self._by_lo, (st.lo,))
                for finger in self._fingers.values():
                    if finger.share == share:
                        finger.lower(at)

    def _released(self, st: Pool) -> None:
        """Addresses of ``st`` became free: searches may now find them there."""
        if self._fingers:
            at = bisect_left(self._by_lo, (st.lo,))
            for finger in self._fingers.values():
                finger.lower(at)

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
            if q is None or st._held is None:
                continue
            first, last = st.encode([x for x, _ in q]), st.encode([y for _, y in q])
            for lo, hi, owner in list(st._held.overlapping(first, last)):
                for part in boxes_between(st.box, st.decode(lo), st.decode(hi)):
                    yield part, owner

    # ------------------------------------------------------------------ reserving

    def reserve(
        self,
        address: Sequence[int],
        owner: Owner,
        *,
        whole: int = 0,
        share: Hashable = None,
    ) -> Address:
        """Reserve exactly ``address`` for ``owner``. O(d log P + log n).

        With ``share``, when the block of the last ``whole`` dimensions was wholly free, it is
        opened to ``share``: a search with the same ``share`` may then take its other addresses
        (libvirt's aggregate PCI slots, whose other functions only root ports may use).
        Raises :class:`Collision` (naming the current owner) when it is taken and
        :class:`OutOfPool` when no pool holds it.
        """
        a = self._address(address)
        st = self._state(a)
        x = st.encode(a)
        if share is not None:
            self._open(st, x, whole, share)
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
        *,
        any_flags: Iterable[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> Address:
        """Reserve the first free address matching ``request`` (see :meth:`first_free`); with
        ``share``, its block is opened to ``share`` when it was wholly free (see :meth:`reserve`).

        Deterministic: always the lexicographically smallest. Raises :class:`Exhausted`, whose
        message names the request (and flags, pools), when none is free.
        """
        fl = flags if type(flags) is frozenset else frozenset(flags)
        anyf = any_flags if type(any_flags) is frozenset else frozenset(any_flags)
        box = self._request_box(request)
        found = self._take_first(box, owner, fl, pools, anyf, whole, share)
        if found is None:
            msg = f"no free {self.kind.name} address in {self.kind.describe_box(box)}"
            if fl:
                msg += f" with flags {', '.join(sorted(fl))}"
            if anyf:
                msg += f" with one of the flags {', '.join(sorted(anyf))}"
            if pools is not None:
                msg += f" in pools {', '.join(repr(p.name) for p in pools)}"
            raise Exhausted(msg)
        return found

    def search(
        self,
        request: RequestLike | None = None,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
        *,
        any_flags: Iterable[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> Search:
        """A search prepared once, for the many a pass makes with the same arguments: its
        :meth:`Search.first` is :meth:`first_free` and :meth:`Search.take`
        :meth:`try_reserve_first`, with the request checked and its box made here, once.

        >>> space = AddressSpace.from_dims(("bus", 0, 1), ("slot", 0, 3))
        >>> _ = space.add_pools_along([(0, 1), (0, 3)], 0, [0, 1], flags={"pci"})
        >>> find = space.search((None, (1, 3)), flags={"pci"})
        >>> find.take("nic"), find.take("disk"), find.first()
        ((0, 1), (0, 2), (0, 3))
        """
        key = (
            self._request_box(request),
            flags if type(flags) is frozenset else frozenset(flags),
            None if pools is None else tuple(pools),
            any_flags if type(any_flags) is frozenset else frozenset(any_flags),
            whole,
            share,
        )
        return Search(self, key)

    def take(
        self, pool: Pool, x: int, owner: Owner, *, whole: int = 0, share: Hashable = None
    ) -> bool:
        """Reserve linear index ``x`` of ``pool`` (:meth:`Pool.encode`) for ``owner`` if it
        is free; whether it was. O(1) for a bitmap pool.

        :meth:`reserve` for a caller that knows the pool and the index already (the first
        address of a pool it just added): no point location, no message. With ``share``, the
        block of ``x`` is opened to it when wholly free, as :meth:`reserve` does. Raises
        ``ValueError`` when ``pool`` is not one of this space's.
        """
        states = self._states
        if not (0 <= pool.number < len(states) and states[pool.number] is pool):
            raise ValueError(f"{pool.name} is not a pool of {self!r}")
        if share is not None and pool.is_free_at(x):
            self._open(pool, x, whole, share)
        return pool.take(x, owner)

    def try_reserve_first(
        self,
        request: RequestLike | None,
        owner: Owner,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
        *,
        any_flags: Iterable[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> Address | None:
        """:meth:`reserve_first`, returning ``None`` instead of raising when none is free."""
        return self._take_first(
            self._request_box(request),
            owner,
            flags if type(flags) is frozenset else frozenset(flags),
            pools,
            any_flags if type(any_flags) is frozenset else frozenset(any_flags),
            whole,
            share,
        )

    def _take_first(
        self,
        box: Box,
        owner: Owner,
        flags: frozenset[str],
        pools: Collection[Pool] | None,
        any_flags: frozenset[str],
        whole: int,
        share: Hashable,
    ) -> Address | None:
        found = self._search(box, flags, pools, any_flags, whole, share)
        if found is None:
            return None
        st, x = found
        if share is not None:
            self._open(st, x, whole, share)
        st.take(x, owner)
        return st.decode(x)

    def reserve_any(
        self,
        owner: Owner,
        flags: Iterable[str] = _NO_FLAGS,
        pools: Collection[Pool] | None = None,
    ) -> Address:
        """Reserve the first free address of the space; :class:`Exhausted` when full."""
        return self.reserve_first(None, owner, flags, pools)

    def _block_parts(self, b: Box, what: str) -> list[tuple[Pool, tuple[tuple[int, int], ...]]]:
        """The pools covering ``b`` with their part of it; :class:`OutOfPool` if not covered."""
        parts = []
        covered = 0
        for st in self._overlapping(b):
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
        st = self._find(a)
        hit = None if st is None or st._held is None else st._held.get(st.encode(a))
        if st is None or hit is None:
            where = "in no pool" if st is None else "free"
            raise NotReserved(
                f"cannot release {self.kind.name} address {self.kind.describe(a)}: it is {where}"
            )
        x = st.encode(a)
        st.held.remove(x, x)
        st.free.add(x, x)
        self._released(st)
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
            first = None
            for lo, hi in st.runs(q):
                st.held.remove(lo, hi)
                st.free.add(lo, hi)
                first = lo if first is None else first
            if first is not None:
                self._released(st)

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert every invariant of the space; for tests. O(P² + total runs)."""
        assert len(self._by_lo) == len(self._states)
        assert [k[0] for k in self._by_lo] == sorted(st.lo for st in self._states)
        assert {id(st) for _, _, st in self._by_lo} == {id(st) for st in self._states}
        if self._k > 0:
            assert len(self._cells) == len(self._states)
            for key, st in self._cells.items():
                assert key == st.lo[: self._k] == st.hi[: self._k], f"{st} under {key}"
        for i, st in enumerate(self._states):
            box = st.box
            assert (st.lo, st.hi) == (box.lo, box.hi)
            assert self.kind.bounds.contains(box), f"pool {st} out of bounds"
            assert st.size == box.size
            assert self._find(box.lo) is st and self._find(box.hi) is st
            for other in self._states[:i]:
                assert not box.overlaps(other.box), f"{st} overlaps {other}"
            st.free._check()
            if isinstance(st.free, BitSet):
                assert st.free.size == st.size, f"pool {st.name}: bitmap of the wrong size"
            held = st.held
            assert held.free is st.free
            held._check()
            # Free and held runs partition 0 .. size - 1.
            runs = sorted([(a, b) for a, b in st.free] + [(a, b) for a, b, _ in held])
            nxt = 0
            for a, b in runs:
                assert a == nxt, f"pool {st.name}: linear index {nxt} lost or doubled"
                nxt = b + 1
            assert nxt == st.size, f"pool {st.name}: runs end at {nxt}, size {st.size}"
            assert st.free.total == sum(b - a + 1 for a, b in st.free)
            for share, bits in (st.opened or {}).items():
                assert bits >> st.size == 0, f"pool {st.name}: blocks open to {share} outside"
        for fkey, finger in self._fingers.items():
            assert 0 <= finger.cursor <= len(self._by_lo)
            for _, _, st in self._by_lo[: finger.cursor]:
                x = self._first_from_scratch(fkey, st)
                assert x is None, f"finger for {fkey[0]} passed over {st.decode(x)}"
            if finger.cursor < len(self._by_lo):
                st = self._by_lo[finger.cursor][2]
                x = self._first_from_scratch(fkey, st)
                assert x is None or x >= finger.start, f"finger for {fkey[0]} starts past {x}"


class Search:
    """A request of :meth:`AddressSpace.search`, checked once; searches resume where the last
    one stopped (the space's finger for the request, made again if the space dropped it)."""

    __slots__ = ("_finger", "_key", "_space")

    def __init__(self, space: AddressSpace, key: _FingerKey) -> None:
        self._space = space
        self._key = key
        self._finger = space._fingers.get(key) or space._finger(key)

    def _live(self) -> _Finger:
        finger = self._finger
        if not finger.live:
            space = self._space
            finger = self._finger = space._fingers.get(self._key) or space._finger(self._key)
        return finger

    def first_index(self) -> tuple[Pool, int] | None:
        """The first free address as its pool and linear index, or ``None``."""
        return self._space._scan(self._live())

    def first(self) -> Address | None:
        """The first free address (:meth:`AddressSpace.first_free`), or ``None``."""
        found = self._space._scan(self._live())
        return None if found is None else found[0].decode(found[1])

    def take_index(self, owner: Owner) -> tuple[Pool, int] | None:
        """:meth:`take`, returning the address as its pool and linear index (no decoding)."""
        finger = self._finger
        if not finger.live:
            finger = self._live()
        st = finger.hot
        if st is not None and finger.epoch == len(self._space._by_lo):
            # The pool being filled, a bitmap: first_in and Pool.take inline (a PCI pass
            # makes hundreds of these searches).
            free = st.free
            bits = free._bits  # type: ignore[union-attr]
            share = finger.share
            start = finger.start
            # From the block of ``start`` on: the ints stay small as the pool fills.
            base = start - start % finger.cur_len
            m = bits >> base
            if finger.blocks:
                plan = finger.cur_plan
                if plan is not None:
                    shifts, starts, one = plan
                    for k in shifts:
                        m &= m >> k
                    m = (m & starts) * one  # (base is a block start: the pattern holds)
                if share is not None and st.opened is not None:
                    m |= (st.opened.get(share, 0) & bits) >> base
            m = (m & (finger.cur_mask >> base)) >> (start - base)
            if m:
                x = start + (m & -m).bit_length() - 1
                if share is not None:
                    length = finger.cur_len
                    b = x - x % length
                    if bits >> b & ((1 << length) - 1) == (1 << length) - 1:
                        self._space._open(st, x, finger.whole, share)
                free._bits = bits ^ (1 << x)  # type: ignore[union-attr]
                free._total -= 1
                held = st._held
                if held is None:
                    held = st._held = Holdings(free)
                held.points[x] = owner
                finger.start = x
                return st, x
            if finger.cursor + 1 == len(self._space._by_lo):
                finger.start = st.size  # (the last pool has nothing more: none is free)
                return None
        found = self._space._scan(finger)
        if found is not None:
            st, x = found
            if finger.share is not None:
                self._space._open(st, x, finger.whole, finger.share)
            st.take(x, owner)
        return found

    def take(self, owner: Owner) -> Address | None:
        """Reserve the first free address for ``owner`` and return it, or ``None`` when there
        is none (:meth:`AddressSpace.try_reserve_first`)."""
        found = self.take_index(owner)
        return None if found is None else found[0].decode(found[1])
