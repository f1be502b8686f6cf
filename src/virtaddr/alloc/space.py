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

__all__ = ["AddressSpace", "Pool"]

Address = tuple[int, ...]
Owner = Hashable
_NO_FLAGS: frozenset[str] = frozenset()


class _Shape:
    """What every pool of one shape shares: strides, size, representation, block masks.

    Cached per (range sizes, representation), so that creating a pool is one small object and
    one int: a domain builds hundreds of PCI buses of a handful of shapes.
    """

    __slots__ = ("blocks", "dense", "masks", "one", "size", "sizes", "strides")

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

    def block_starts(self, length: int) -> int:
        """The bits at multiples of ``length`` below ``size`` (a bitmap pool's block starts)."""
        m = self.blocks.get(length)
        if m is None:
            m = 0
            for x in range(0, self.size, length):
                m |= 1 << x
            self.blocks[length] = m
        return m


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
    """Where the last search for one request stopped, so the next starts there.

    ``start`` is a point below which no address matching the request is free (``None``: no
    knowledge); ``exhausted`` says none is free at all; ``pos`` is how many of the candidate
    pools lie entirely below ``start``; ``seen`` how many of the space's pools (in insertion
    order) it has considered. Reserving never invalidates a finger; releasing lowers ``start``
    to what was released; a pool added later is taken in at the next search (:meth:`catch_up`),
    lowering ``start`` to its first point when it comes before.
    """

    __slots__ = ("clips", "exhausted", "los", "pos", "seen", "start", "states", "top")

    def __init__(self, states: list[Pool], box: Box, seen: int) -> None:
        # The candidate pools that meet the box, each with its part of the box, clipped once.
        self.states: list[Pool] = []
        self.clips: list[tuple[tuple[int, int], ...]] = []
        self.los: list[Address] = []
        for st in states:
            q = st.clip(box)
            if q is not None:
                self.states.append(st)
                self.clips.append(q)
                self.los.append(st.lo)
        self.start: Address | None = None
        self.exhausted = False
        self.pos = 0
        self.top: Address | None = None  # the highest last point of states[:pos]
        self.seen = seen

    def catch_up(self, pools: list[Pool], key: _FingerKey) -> None:
        """Take in the pools added since this finger was made (``pools`` in insertion order)."""
        box, flags, wanted, any_flags, _, _ = key
        for st in pools[self.seen :]:
            if wanted is not None and not any(st is p for p in wanted):
                continue
            if not _matches(st, flags, any_flags):
                continue
            q = st.clip(box)
            if q is None:
                continue
            lo = st.lo
            after = not self.los or self.los[-1] < lo
            i = len(self.los) if after else bisect_left(self.los, lo)
            self.states.insert(i, st)
            self.clips.insert(i, q)
            self.los.insert(i, lo)
            if i < self.pos:
                self.pos, self.top = 0, None
            if self.exhausted or (self.start is not None and self.start > lo):
                self.lower(lo)
        self.seen = len(pools)

    def lower(self, point: Address) -> None:
        if self.exhausted or (self.start is not None and self.start > point):
            self.start = point
            # The pools passed over stay passed over when they all end below the new start
            # (a pool added after the last one, a release in the pool being filled).
            if self.top is not None and self.top >= point:
                self.pos = 0
                self.top = None
        self.exhausted = False


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
        assert isinstance(self.free, BitSet)
        m = self.free._bits
        if length == 1:
            return m
        span = 1
        while span < length and m:
            s = min(span, length - span)
            m &= m >> s
            span += s
        m &= self.shape.block_starts(length)
        return m * ((1 << length) - 1)  # blocks are aligned and apart: no carries

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
        shape = _shape(tuple([b - a + 1 for a, b in ranges]), dense)
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

        A row of pools of one shape (a bus per controller index): the box, the flags and the
        shape are checked and made once, so each pool costs one small object and an int.
        ``data[i]`` goes with the i-th value. Raises as :meth:`add_pool` does.
        """
        fl = flags if type(flags) is frozenset else frozenset(flags)
        ranges = list(self._ranges(box))
        ranges[dim] = (0, 0)
        shape = _shape(tuple([b - a + 1 for a, b in ranges]), dense)
        tlo = tuple([a for a, _ in ranges])
        thi = tuple([b for _, b in ranges])
        head_lo, tail_lo = tlo[:dim], tlo[dim + 1 :]
        head_hi, tail_hi = thi[:dim], thi[dim + 1 :]
        field = self.kind.fields[dim]
        bottom, top = field.lo, field.hi
        add = self._add_pool
        out = []
        items: Iterable[tuple[int, Any]] = (
            ((v, None) for v in values) if data is None else zip(values, data, strict=True)
        )
        for v, d in items:
            if type(v) is not int or not bottom <= v <= top:
                raise InvalidAddress(
                    f"{self.kind.name} {field.name} {v!r} is not within {bottom}..{top}"
                )
            out.append(add((*head_lo, v, *tail_lo), (*head_hi, v, *tail_hi), shape, fl, None, d))
        return out

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
        if shape.dense and shape.size > DENSE_MAX * 16:
            raise InvalidAddress(
                f"{self.kind.name} pool {pool.name!r} {pool.box} is too large for a bitmap"
            )
        k = self._k
        if k < 0:
            k = 0
            while k < len(lo) and lo[k] == hi[k]:
                k += 1
            self._k = k
            if not k:
                self._index = BoxIndex(len(lo))
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
            assert self._index is not None
            self._index.add(pool.box, pool)
        states.append(pool)
        by_lo = self._by_lo
        if not by_lo or by_lo[-1][0] < lo:
            by_lo.append((lo, len(states), pool))
        else:
            insort(by_lo, (lo, len(states), pool))
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
        index: BoxIndex[Pool] = BoxIndex(len(self.kind.fields))
        for st in self._states:
            index.add(st.box, st)
        self._index = index
        self._cells = {}
        self._k = 0

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
            assert self._index is not None
            return self._index.find(point)
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
            assert self._index is not None
            return self._index.overlapping(box)
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
        return None if found is None else found[2]

    def _search(
        self,
        box: Box,
        flags: frozenset[str],
        pools: Collection[Pool] | None,
        any_flags: frozenset[str] = _NO_FLAGS,
        whole: int = 0,
        share: Hashable = None,
    ) -> tuple[Pool, int, Address] | None:
        key = (box, flags, None if pools is None else tuple(pools), any_flags, whole, share)
        finger = self._fingers.get(key)
        if finger is None:
            if len(self._fingers) >= FINGERS:
                del self._fingers[next(iter(self._fingers))]
            finger = self._fingers[key] = _Finger(
                self._candidates(box, flags, pools, any_flags), box, len(self._states)
            )
        elif finger.seen < len(self._states):
            finger.catch_up(self._states, key)
        if finger.exhausted:
            return None
        start = finger.start
        states = finger.states
        i = finger.pos
        if start is not None:
            top = finger.top
            while i < len(states) and states[i].hi < start:
                if top is None or states[i].hi > top:
                    top = states[i].hi
                i += 1
            finger.pos = i
            finger.top = top
        best: tuple[Pool, int, Address] | None = None
        clips = finger.clips
        blocks = whole > 0 or share is not None
        for j in range(i, len(states)):
            st = states[j]
            if best is not None and st.lo > best[2]:
                break
            if not st.free.total or (start is not None and st.hi < start):
                continue
            if blocks:
                x = st.first_free_block(clips[j], start, whole, share)
            else:
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

    def _search_from_scratch(self, key: _FingerKey) -> Address | None:
        """:meth:`_search` without fingers, for :meth:`_check`."""
        box, flags, pools, any_flags, whole, share = key
        best: Address | None = None
        for st in self._candidates(box, flags, pools, any_flags):
            q = st.clip(box)
            if q is None:
                continue
            if whole > 0 or share is not None:
                x = st.first_free_block(q, None, whole, share)
            else:
                x = st.first_free(q)
            if x is not None and (best is None or st.decode(x) < best):
                best = st.decode(x)
        return best

    def _open(self, st: Pool, x: int, whole: int, share: Hashable) -> None:
        """Open the block of ``x`` to ``share`` if it is wholly free. Searches sharing it may
        now find its addresses, below where they stopped (one with another ``whole``)."""
        length = st.block_length(whole)
        if st.block_is_free(x, length):
            st.open_block(x, length, share)
            point = st.decode(x - x % length)
            for key, finger in self._fingers.items():
                if key[5] == share:
                    finger.lower(point)

    def _released(self, st: Pool, x: int) -> None:
        """Linear index ``x`` of ``st`` (and maybe more after it) became free: searches may now
        find it, or, for a search of whole blocks, the start of its block."""
        point = st.decode(x)
        for key, finger in self._fingers.items():
            whole = key[4]
            if whole:
                length = st.block_length(whole)
                finger.lower(st.decode(x - x % length))
            else:
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
        st, x, a = found
        if share is not None:
            self._open(st, x, whole, share)
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
        self._released(st, x)
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
                self._released(st, first)

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
            finger.catch_up(self._states, fkey)
            assert finger.los == [st.lo for st in finger.states]
            assert finger.los == sorted(finger.los)
            truth = self._search_from_scratch(fkey)
            fbox = fkey[0]
            if finger.exhausted:
                assert truth is None, f"finger for {fbox} says exhausted, {truth} is free"
            elif finger.start is not None:
                assert truth is None or truth >= finger.start, f"finger for {fbox} skips {truth}"
                assert all(st.hi < finger.start for st in finger.states[: finger.pos])
