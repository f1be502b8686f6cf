"""A set of small integers as one Python int, bit ``x`` set when ``x`` is in the set.

The free space of a small pool (a PCI bus is 256 functions): the same interface as
:class:`~virtaddr.alloc.intervals.IntervalSet`, so a pool uses whichever suits its size, but
creating one is a single int, and every query is a few shifts and masks done in C on at most
``size`` bits instead of bisections over Python lists. Memory is ``size / 8`` bytes whatever the
fragmentation, which is why only small pools use it.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["BitSet"]


class BitSet:
    """A set of integers ``0 <= x < size`` held as the bits of an int.

    Runs are reported like :class:`~virtaddr.alloc.intervals.IntervalSet`'s: maximal, sorted,
    inclusive ``(lo, hi)`` pairs.

    >>> s = BitSet(10)
    >>> s.remove(3, 4); list(s), s.total
    ([(0, 2), (5, 9)], 8)
    >>> s.find(3), s.count(0, 5), 4 in s
    ((5, 9), 4, False)
    """

    __slots__ = ("_bits", "_total", "size")

    def __init__(self, size: int, full: bool = True) -> None:
        self.size = size
        self._bits = (1 << size) - 1 if full else 0
        self._total = size if full else 0

    @property
    def total(self) -> int:
        """The number of integers in the set. O(1)."""
        return self._total

    def __len__(self) -> int:
        """The number of runs (not of integers). O(size)."""
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return self._bits != 0

    def find(self, x: int) -> tuple[int, int] | None:
        """The first run with ``hi >= x`` (it holds ``x`` when its ``lo <= x``). O(size) in C."""
        if x < 0:
            x = 0
        m = self._bits >> x
        if not m:
            return None
        # In a run, x's run starts after the highest clear bit below x; else at m's lowest bit.
        lo = (~self._bits & ((1 << x) - 1)).bit_length() if m & 1 else x + (m & -m).bit_length() - 1
        m = self._bits >> lo
        # The lowest clear bit of m ends the run: (m + 1) & ~m isolates it.
        return lo, lo + ((m + 1) & ~m).bit_length() - 2

    def runs_from(self, x: int) -> Iterator[tuple[int, int]]:
        """The runs with ``hi >= x`` in order. O(size) per run, in C."""
        while True:
            run = self.find(x)
            if run is None:
                return
            yield run
            x = run[1] + 2  # bit hi + 1 is clear

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """The runs ``(lo, hi)`` in increasing order."""
        return self.runs_from(0)

    def __contains__(self, x: object) -> bool:
        """Whether integer ``x`` is in the set. O(1)."""
        return isinstance(x, int) and x >= 0 and (self._bits >> x) & 1 == 1

    def covers(self, lo: int, hi: int) -> bool:
        """Whether every integer of ``lo..hi`` is in the set."""
        if lo < 0 or lo > hi:
            return False
        mask = ((1 << (hi - lo + 1)) - 1) << lo
        return self._bits & mask == mask

    def count(self, lo: int, hi: int) -> int:
        """How many integers of ``lo..hi`` are in the set. O(size) in C."""
        lo = max(lo, 0)
        if lo > hi:
            return 0
        return ((self._bits >> lo) & ((1 << (hi - lo + 1)) - 1)).bit_count()

    def first_in_mask(self, mask: int, x: int) -> int | None:
        """The smallest ``y >= x`` in the set whose bit is also set in ``mask``, or ``None``."""
        m = (self._bits & mask) >> x
        return None if not m else x + (m & -m).bit_length() - 1

    def add(self, lo: int, hi: int) -> None:
        """Add ``lo..hi``, which must not meet the set.

        Raises ``ValueError`` when ``lo..hi`` is empty, outside ``0..size - 1`` or meets the set.
        """
        if lo > hi or lo < 0 or hi >= self.size:
            raise ValueError(f"run {lo}..{hi} is empty or not within 0..{self.size - 1}")
        mask = ((1 << (hi - lo + 1)) - 1) << lo
        if self._bits & mask:
            raise ValueError(f"run {lo}..{hi} meets the set")
        self._bits |= mask
        self._total += hi - lo + 1

    def remove(self, lo: int, hi: int) -> None:
        """Remove ``lo..hi``, which must be in the set.

        Raises ``ValueError`` (and changes nothing) when some integer of ``lo..hi`` is absent.
        """
        if lo > hi or lo < 0:
            raise ValueError(f"{lo}..{hi} is not within the set")
        mask = ((1 << (hi - lo + 1)) - 1) << lo
        if self._bits & mask != mask:
            raise ValueError(f"{lo}..{hi} is not within the set")
        self._bits ^= mask
        self._total -= hi - lo + 1

    def _check(self) -> None:
        """Assert every invariant: bits only within ``0..size - 1``, the total."""
        assert self._bits >= 0
        assert self._bits >> self.size == 0, "bits beyond the size"
        assert self._bits.bit_count() == self._total, "stale total"
