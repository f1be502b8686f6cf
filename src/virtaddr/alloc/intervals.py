"""Sorted sets and maps of disjoint inclusive integer intervals.

The storage of the allocator: a pool's free space is an :class:`IntervalSet` of runs of its linear
index and its reservations an :class:`IntervalMap` from runs to owners. Both keep their runs in a
chunked sorted list (the layout of ``sortedcontainers.SortedList``, written with the standard
library): a list of chunks of at most ``2 * LOAD`` runs plus the largest ``hi`` of every chunk, so a
lookup is two bisections and an insert or delete moves at most ``2 * LOAD`` references, never the
whole list. Integers are Python ints, so runs of 128-bit addresses are exact.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["LOAD", "IntervalMap", "IntervalSet"]

#: Target chunk length; chunks are split above ``2 * LOAD`` and merged below ``LOAD // 2``.
LOAD = 256

V = TypeVar("V")


class _ChunkedRuns(Generic[V]):
    """Disjoint inclusive runs ``(lo, hi)`` with a value each, sorted, in chunks.

    Because the runs are disjoint, both their ``lo`` and their ``hi`` are sorted, so
    :meth:`_locate` bisects on ``hi``.
    """

    __slots__ = ("_his", "_len", "_los", "_maxes", "_vals")

    def __init__(self) -> None:
        self._los: list[list[int]] = []
        self._his: list[list[int]] = []
        self._vals: list[list[V]] = []
        self._maxes: list[int] = []  # the last hi of every chunk
        self._len = 0

    def __len__(self) -> int:
        """The number of runs (not of integers). O(1)."""
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    # ------------------------------------------------------------------ positions

    def _locate(self, x: int) -> tuple[int, int]:
        """Position ``(chunk, index)`` of the first run with ``hi >= x``. O(log n).

        ``(len(chunks), 0)`` when there is none.
        """
        c = bisect_left(self._maxes, x)
        if c == len(self._maxes):
            return c, 0
        return c, bisect_left(self._his[c], x)

    def _prev(self, c: int, i: int) -> tuple[int, int] | None:
        """The position before ``(c, i)``, or ``None`` at the start. O(1)."""
        if i > 0:
            return c, i - 1
        if c > 0:
            return c - 1, len(self._los[c - 1]) - 1
        return None

    def _at_end(self, c: int) -> bool:
        return c >= len(self._los)

    def _set(self, c: int, i: int, lo: int, hi: int, val: V) -> None:
        self._los[c][i] = lo
        self._his[c][i] = hi
        self._vals[c][i] = val
        if i == len(self._his[c]) - 1:
            self._maxes[c] = hi

    def _insert(self, c: int, i: int, lo: int, hi: int, val: V) -> None:
        """Insert a run at position ``(c, i)``; the caller keeps the order. O(LOAD + log n)."""
        if not self._los:
            self._los.append([lo])
            self._his.append([hi])
            self._vals.append([val])
            self._maxes.append(hi)
            self._len = 1
            return
        if c >= len(self._los):
            c = len(self._los) - 1
            i = len(self._los[c])
        los, his, vals = self._los[c], self._his[c], self._vals[c]
        los.insert(i, lo)
        his.insert(i, hi)
        vals.insert(i, val)
        self._maxes[c] = his[-1]
        self._len += 1
        if len(los) > 2 * LOAD:
            self._split(c, LOAD)

    def _split(self, c: int, at: int) -> None:
        """Cut chunk ``c`` in two before its run ``at``."""
        los, his, vals = self._los[c], self._his[c], self._vals[c]
        self._los.insert(c + 1, los[at:])
        self._his.insert(c + 1, his[at:])
        self._vals.insert(c + 1, vals[at:])
        del los[at:], his[at:], vals[at:]
        self._maxes[c : c + 1] = [his[-1], self._his[c + 1][-1]]

    def _delete(self, c: int, i: int) -> None:
        """Delete the run at ``(c, i)``. O(LOAD + log n)."""
        los, his, vals = self._los[c], self._his[c], self._vals[c]
        del los[i], his[i], vals[i]
        self._len -= 1
        if not los:
            del self._los[c], self._his[c], self._vals[c], self._maxes[c]
            return
        self._maxes[c] = his[-1]
        if len(los) < LOAD // 2 and len(self._los) > 1:
            # Merge with a neighbour (the previous one when this is the last chunk), then
            # re-split if that made the neighbour too long.
            a = c - 1 if c == len(self._los) - 1 else c
            self._los[a] += self._los[a + 1]
            self._his[a] += self._his[a + 1]
            self._vals[a] += self._vals[a + 1]
            del self._los[a + 1], self._his[a + 1], self._vals[a + 1], self._maxes[a + 1]
            self._maxes[a] = self._his[a][-1]
            if len(self._los[a]) > 2 * LOAD:
                self._split(a, len(self._los[a]) // 2)

    # ------------------------------------------------------------------ iteration

    def _iter_from(self, x: int) -> Iterator[tuple[int, int, V]]:
        """Runs with ``hi >= x`` in order: O(log n) to start, O(1) per run.

        The structure must not change while the iterator is used.
        """
        c, i = self._locate(x)
        while c < len(self._los):
            los, his, vals = self._los[c], self._his[c], self._vals[c]
            for j in range(i, len(los)):
                yield los[j], his[j], vals[j]
            c, i = c + 1, 0

    def _check_runs(self) -> None:
        """Assert the chunk layout and the order of the runs."""
        assert len(self._los) == len(self._his) == len(self._vals) == len(self._maxes)
        count = 0
        prev_hi: int | None = None
        for c, los in enumerate(self._los):
            his, vals = self._his[c], self._vals[c]
            assert los, "empty chunk"
            assert len(los) == len(his) == len(vals)
            assert len(los) <= 2 * LOAD, "chunk too long"
            assert self._maxes[c] == his[-1], "stale chunk maximum"
            for lo, hi in zip(los, his, strict=True):
                assert isinstance(lo, int) and isinstance(hi, int)
                assert lo <= hi, f"empty run {lo}..{hi}"
                assert prev_hi is None or prev_hi < lo, f"runs overlap or unsorted at {lo}"
                prev_hi = hi
            count += len(los)
        assert count == self._len, "stale length"


class IntervalSet(_ChunkedRuns[None]):
    """A set of integers stored as sorted, disjoint, non-adjacent inclusive runs.

    Adjacent runs are always merged, so the representation of a set is unique: adding back what
    was removed restores exactly the previous runs.

    >>> s = IntervalSet([(0, 9)])
    >>> s.remove(3, 4); list(s)
    [(0, 2), (5, 9)]
    >>> s.add(3, 4); list(s), s.total
    ([(0, 9)], 10)
    """

    __slots__ = ("_total",)

    def __init__(self, runs: list[tuple[int, int]] | None = None) -> None:
        super().__init__()
        self._total = 0
        for lo, hi in runs or ():
            self.add(lo, hi)

    @classmethod
    def full(cls, size: int) -> IntervalSet:
        """The set ``0 .. size - 1`` (``size`` > 0), built directly. O(1)."""
        s = cls()
        s._los.append([0])
        s._his.append([size - 1])
        s._vals.append([None])
        s._maxes.append(size - 1)
        s._len = 1
        s._total = size
        return s

    @property
    def total(self) -> int:
        """The number of integers in the set (an exact int, however large). O(1)."""
        return self._total

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """The runs ``(lo, hi)`` in increasing order. O(1) per run."""
        if self._los:
            for lo, hi, _ in self._iter_from(self._los[0][0]):
                yield lo, hi

    def runs_from(self, x: int) -> Iterator[tuple[int, int]]:
        """The runs with ``hi >= x`` in order. O(log n) to start, O(1) per run."""
        for lo, hi, _ in self._iter_from(x):
            yield lo, hi

    def find(self, x: int) -> tuple[int, int] | None:
        """The first run with ``hi >= x`` (it holds ``x`` when its ``lo <= x``). O(log n)."""
        c, i = self._locate(x)
        if c == len(self._los):
            return None
        return self._los[c][i], self._his[c][i]

    def __contains__(self, x: object) -> bool:
        """Whether integer ``x`` is in the set. O(log n)."""
        if not isinstance(x, int):
            return False
        run = self.find(x)
        return run is not None and run[0] <= x

    def covers(self, lo: int, hi: int) -> bool:
        """Whether every integer of ``lo..hi`` is in the set. O(log n)."""
        run = self.find(lo)
        return run is not None and run[0] <= lo and hi <= run[1]

    def count(self, lo: int, hi: int) -> int:
        """How many integers of ``lo..hi`` are in the set. O(log n + k), k runs touched."""
        n = 0
        for a, b, _ in self._iter_from(lo):
            if a > hi:
                break
            n += min(b, hi) - max(a, lo) + 1
        return n

    def add(self, lo: int, hi: int) -> None:
        """Add ``lo..hi``, which must not meet the set; merges with adjacent runs. O(log n + LOAD).

        Raises ``ValueError`` when ``lo..hi`` is empty or meets the set.
        """
        if lo > hi:
            raise ValueError(f"empty run {lo}..{hi}")
        c, i = self._locate(lo)
        nxt = None if self._at_end(c) else (self._los[c][i], self._his[c][i])
        if nxt is not None and nxt[0] <= hi:
            raise ValueError(f"run {lo}..{hi} meets {nxt[0]}..{nxt[1]}")
        p = self._prev(c, i)
        left = p is not None and self._his[p[0]][p[1]] == lo - 1
        right = nxt is not None and nxt[0] == hi + 1
        if left and right:
            assert p is not None and nxt is not None
            self._set(p[0], p[1], self._los[p[0]][p[1]], nxt[1], None)
            self._delete(c, i)
        elif left:
            assert p is not None
            self._set(p[0], p[1], self._los[p[0]][p[1]], hi, None)
        elif right:
            assert nxt is not None
            self._set(c, i, lo, nxt[1], None)
        else:
            self._insert(c, i, lo, hi, None)
        self._total += hi - lo + 1

    def remove(self, lo: int, hi: int) -> None:
        """Remove ``lo..hi``, which must lie within one run (be in the set). O(log n + LOAD).

        Raises ``ValueError`` (and changes nothing) when some integer of ``lo..hi`` is absent.
        """
        if lo > hi:
            raise ValueError(f"empty run {lo}..{hi}")
        c = bisect_left(self._maxes, lo)  # self._locate(lo), inlined: this is the hot path
        if c == len(self._maxes):
            raise ValueError(f"{lo}..{hi} is not within the set")
        his = self._his[c]
        i = bisect_left(his, lo)
        a, b = self._los[c][i], his[i]
        if not (a <= lo and hi <= b):
            raise ValueError(f"{lo}..{hi} is not within the set")
        if a == lo and b == hi:
            self._delete(c, i)
        elif a == lo:
            self._los[c][i] = hi + 1
        else:
            his[i] = lo - 1
            if i == len(his) - 1:
                self._maxes[c] = lo - 1
            if b != hi:
                self._insert(c, i + 1, hi + 1, b, None)
        self._total -= hi - lo + 1

    def _check(self) -> None:
        """Assert every invariant: layout, order, no adjacent runs, the total."""
        self._check_runs()
        total = 0
        prev: int | None = None
        for lo, hi in self:
            assert prev is None or prev + 1 < lo, f"adjacent runs not merged at {lo}"
            prev = hi
            total += hi - lo + 1
        assert total == self._total, "stale total"


class IntervalMap(_ChunkedRuns[V]):
    """Disjoint inclusive runs, each mapped to a value (adjacent runs are kept apart).

    >>> m = IntervalMap[str]()
    >>> m.insert(0, 7, "slot 3"); m.get(5)
    (0, 7, 'slot 3')
    >>> _ = m.remove(2, 2); list(m)
    [(0, 1, 'slot 3'), (3, 7, 'slot 3')]
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[tuple[int, int, V]]:
        """The runs ``(lo, hi, value)`` in increasing order. O(1) per run."""
        if self._los:
            yield from self._iter_from(self._los[0][0])

    def get(self, x: int) -> tuple[int, int, V] | None:
        """The run holding ``x`` with its value, or ``None``. O(log n)."""
        c, i = self._locate(x)
        if self._at_end(c) or self._los[c][i] > x:
            return None
        return self._los[c][i], self._his[c][i], self._vals[c][i]

    def overlapping(self, lo: int, hi: int) -> Iterator[tuple[int, int, V]]:
        """The runs meeting ``lo..hi`` in order. O(log n + k)."""
        for a, b, v in self._iter_from(lo):
            if a > hi:
                break
            yield a, b, v

    def insert(self, lo: int, hi: int, value: V) -> None:
        """Map ``lo..hi`` to ``value``; it must not meet any run. O(log n + LOAD).

        Raises ``ValueError`` when it does.
        """
        if lo > hi:
            raise ValueError(f"empty run {lo}..{hi}")
        c, i = self._locate(lo)
        if not self._at_end(c) and self._los[c][i] <= hi:
            raise ValueError(f"run {lo}..{hi} meets {self._los[c][i]}..{self._his[c][i]}")
        self._insert(c, i, lo, hi, value)

    def remove(self, lo: int, hi: int) -> list[tuple[int, int, V]]:
        """Unmap every integer of ``lo..hi``, splitting runs that straddle its ends.

        Returns the removed pieces ``(lo, hi, value)`` in order. Integers of ``lo..hi`` that are
        not mapped are ignored; callers check coverage first. O(log n + LOAD * k).
        """
        removed: list[tuple[int, int, V]] = []
        while True:
            c, i = self._locate(lo)
            if self._at_end(c):
                break
            a, b, v = self._los[c][i], self._his[c][i], self._vals[c][i]
            if a > hi:
                break
            if a < lo:
                self._set(c, i, a, lo - 1, v)
                if b > hi:
                    self._insert(c, i + 1, hi + 1, b, v)
                    removed.append((lo, hi, v))
                    break
                removed.append((lo, b, v))
            elif b > hi:
                self._set(c, i, hi + 1, b, v)
                removed.append((a, hi, v))
                break
            else:
                self._delete(c, i)
                removed.append((a, b, v))
        return removed

    def _check(self) -> None:
        """Assert every invariant: layout and order."""
        self._check_runs()
