"""Who holds the reserved addresses of a pool.

Most reservations are single addresses (a disk, a NIC, an IP), so those are a plain dict from
linear index to owner, and only block reservations (a PCI slot's eight functions, a range of
ports) are runs in an :class:`~virtaddr.alloc.intervals.IntervalMap`. The dict needs no order of
its own: which indices are reserved, in order, is the complement of the pool's free set, so a
walk over the reservations steps through the free set's gaps. Reserving one address is then one
dict store instead of a sorted insert.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Protocol

from virtaddr.alloc.intervals import IntervalMap

__all__ = ["Holdings"]

Owner = Hashable
_MISSING = object()


class FreeRuns(Protocol):
    """What :class:`Holdings` reads of a pool's free set (IntervalSet or BitSet)."""

    def runs_from(self, x: int) -> Iterator[tuple[int, int]]: ...

    def __contains__(self, x: object) -> bool: ...


class Holdings:
    """The owners of a pool's reserved linear indices, beside its free set ``free``.

    The caller keeps the two consistent: an index is reserved here exactly when it is not in
    ``free``. Each reservation stays one entry (adjacent reservations are not merged), so a
    block keeps its owner as one run until part of it is released.

    >>> from virtaddr.alloc.intervals import IntervalSet
    >>> free = IntervalSet([(0, 9)])
    >>> held = Holdings(free)
    >>> free.remove(2, 5); held.insert(2, 2, "vda"); held.insert(3, 5, "slot")
    >>> list(held.overlapping(0, 9)), held.get(4)
    ([(2, 2, 'vda'), (3, 5, 'slot')], (3, 5, 'slot'))
    """

    __slots__ = ("_runs", "free", "points")

    def __init__(self, free: FreeRuns) -> None:
        self.free = free
        self.points: dict[int, Owner] = {}
        self._runs: IntervalMap[Owner] | None = None  # made on the first block

    @property
    def runs(self) -> IntervalMap[Owner]:
        """The block reservations (an empty map until the first)."""
        runs = self._runs
        if runs is None:
            runs = self._runs = IntervalMap()
        return runs

    def __bool__(self) -> bool:
        return bool(self.points) or bool(self._runs)

    def get(self, x: int) -> tuple[int, int, Owner] | None:
        """The reservation holding ``x`` as ``(lo, hi, owner)``, or ``None``. O(1) or O(log n)."""
        v = self.points.get(x, _MISSING)
        if v is not _MISSING:
            return x, x, v
        return self._runs.get(x) if self._runs else None

    def insert(self, lo: int, hi: int, owner: Owner) -> None:
        """Record that ``lo..hi`` (just taken out of the free set) is held by ``owner``."""
        if lo == hi:
            self.points[lo] = owner
        else:
            self.runs.insert(lo, hi, owner)

    def remove(self, lo: int, hi: int) -> list[tuple[int, int, Owner]]:
        """Forget every reservation of ``lo..hi``, all of which must be reserved.

        Returns the removed pieces ``(lo, hi, owner)`` in order (a run straddling an end of
        ``lo..hi`` keeps its outside part). Raises ``ValueError`` at an index that is not
        reserved, having removed the pieces before it. O(pieces · log n).
        """
        removed: list[tuple[int, int, Owner]] = []
        p = lo
        while p <= hi:
            v = self.points.pop(p, _MISSING)
            if v is not _MISSING:
                removed.append((p, p, v))
                p += 1
                continue
            run = self.runs.get(p)
            if run is None:
                raise ValueError(f"{p} is not reserved")
            end = min(run[1], hi)
            removed += self.runs.remove(p, end)
            p = end + 1
        return removed

    def overlapping(self, lo: int, hi: int) -> Iterator[tuple[int, int, Owner]]:
        """The reservations meeting ``lo..hi`` in order (runs whole, not clipped).

        Walks the gaps of the free set: O(log n + k) for k free runs and reservations met. The
        free set and the holdings must not change while the iterator is used.
        """
        p = lo
        for a, b in self.free.runs_from(lo):
            gap_end = min(a - 1, hi)
            while p <= gap_end:
                v = self.points.get(p, _MISSING)
                if v is not _MISSING:
                    yield p, p, v
                    p += 1
                else:
                    run = self.runs.get(p)
                    assert run is not None, f"{p} is neither free nor held"
                    yield run
                    p = run[1] + 1
            if a > hi:
                return
            p = max(p, b + 1)
            if p > hi:
                return
        while p <= hi:
            # Past the last free run: everything up to hi is held (the caller's hi is in range).
            v = self.points.get(p, _MISSING)
            if v is not _MISSING:
                yield p, p, v
                p += 1
            else:
                run = self.runs.get(p)
                if run is None:
                    return  # beyond the pool
                yield run
                p = run[1] + 1

    def __iter__(self) -> Iterator[tuple[int, int, Owner]]:
        """Every reservation in order, from the entries themselves (not the free set).

        O(n log n): for :meth:`_check` and tests, which compare it with the free set.
        """
        return iter(sorted([*((k, k, v) for k, v in self.points.items()), *self.runs]))

    def _check(self) -> None:
        """Assert every invariant: the run layout, no point inside a run, nothing free held."""
        self.runs._check()
        for k in self.points:
            assert isinstance(k, int)
            assert self.runs.get(k) is None, f"{k} held both as a point and in a run"
            assert k not in self.free, f"{k} both free and held"
        for a, b, _ in self.runs:
            for x in (a, b):
                assert x not in self.free, f"{x} both free and held"
