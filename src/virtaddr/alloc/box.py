"""Boxes: products of inclusive integer ranges, one per dimension.

A box is the unit of the allocator's vocabulary: a pool is a box, a block reservation is a box,
and the free space is reported as boxes. Boxes are ordered by their lowest corner, which is also
their lexicographically smallest point (first dimension most significant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import product

from virtaddr.errors import InvalidAddress

__all__ = ["Box", "BoxLike", "boxes_between"]

Range = tuple[int, int]

_NUM = r"(-?(?:0[xX][0-9a-fA-F]+|\d+))"
_GROUP = re.compile(r"\{\s*" + _NUM + r"\s*(?:\.\.\s*" + _NUM + r"\s*)?\}")
_SEPARATORS = re.compile(r"[\s:.,]*")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class Frozen:
    """A base for immutable values with ``__slots__`` (what a frozen dataclass gives, without
    the ~0.5 ms that ``@dataclass`` costs per class at import: every ``virtaddr`` process
    loads these). Subclasses set their slots once with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


class Box(Frozen):
    """A product of inclusive ranges ``((lo, hi), ...)``, first dimension most significant.

    >>> b = Box([(0, 0), (0, 31), (0, 7)])
    >>> str(b), b.size, (0, 13, 2) in b
    ('{0..0}{0..31}{0..7}', 256, True)
    >>> Box.parse("{0..0}:{0..31}.{0..7}") == b
    True

    Raises :class:`~virtaddr.errors.InvalidAddress` for a range that is empty or not of ints.
    An int in place of a range means that single value.
    """

    __slots__ = ("ranges",)
    ranges: tuple[Range, ...]

    def __init__(self, ranges: Iterable[Range | int]) -> None:
        out: list[Range] = []
        for r in ranges:
            if type(r) is tuple and len(r) == 2:
                lo, hi = r
                if type(lo) is int and type(hi) is int and lo <= hi:
                    out.append(r)  # the common case, checked in one go
                    continue
            if _is_int(r):
                assert isinstance(r, int)
                out.append((r, r))
                continue
            try:
                lo, hi = r  # type: ignore[misc]
            except (TypeError, ValueError):
                raise InvalidAddress(f"not a range: {r!r}") from None
            if not (_is_int(lo) and _is_int(hi)):
                raise InvalidAddress(f"range bounds must be ints: {r!r}")
            if lo > hi:
                raise InvalidAddress(f"empty range {lo}..{hi}")
            out.append((lo, hi))
        object.__setattr__(self, "ranges", tuple(out))

    @classmethod
    def point(cls, address: Sequence[int]) -> Box:
        """The box holding just ``address``. O(d)."""
        return cls((v, v) for v in address)

    @classmethod
    def parse(cls, text: str) -> Box:
        """Parse ``{lo..hi}`` groups (``{v}`` is one value; decimal or ``0x`` hex).

        Any of ``: . ,`` and blanks may separate the groups, so the proposal's PCI notation
        ``{0..0}:{0..31}.{0..7}`` parses. Raises :class:`InvalidAddress` on anything else.

        >>> Box.parse("{0..1} {0x1f} {3}").ranges
        ((0, 1), (31, 31), (3, 3))
        """
        ranges: list[Range] = []
        pos = _SEPARATORS.match(text, 0)
        i = pos.end() if pos else 0
        while i < len(text):
            m = _GROUP.match(text, i)
            if m is None:
                raise InvalidAddress(f"cannot parse box {text!r} at offset {i}")
            lo = int(m.group(1), 0)
            hi = int(m.group(2), 0) if m.group(2) is not None else lo
            ranges.append((lo, hi))
            sep = _SEPARATORS.match(text, m.end())
            i = sep.end() if sep else m.end()
        if not ranges:
            raise InvalidAddress(f"cannot parse box {text!r}: no {{lo..hi}} group")
        return cls(ranges)

    def __str__(self) -> str:
        return "".join(f"{{{lo}..{hi}}}" for lo, hi in self.ranges)

    def __repr__(self) -> str:
        return f"Box.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Box)
        return self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash(self.ranges)

    @property
    def dims(self) -> int:
        """The number of dimensions. O(1)."""
        return len(self.ranges)

    @property
    def lo(self) -> tuple[int, ...]:
        """The lowest corner, also the lexicographically first point. O(d)."""
        return tuple(lo for lo, _ in self.ranges)

    @property
    def hi(self) -> tuple[int, ...]:
        """The highest corner, also the lexicographically last point. O(d)."""
        return tuple(hi for _, hi in self.ranges)

    @property
    def size(self) -> int:
        """The number of points (an exact int; ``len()`` is not defined as it may overflow)."""
        n = 1
        for lo, hi in self.ranges:
            n *= hi - lo + 1
        return n

    @property
    def is_point(self) -> bool:
        """Whether the box holds exactly one point. O(d)."""
        return all(lo == hi for lo, hi in self.ranges)

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` (a sequence of ints) is a point of the box. O(d)."""
        if not isinstance(address, Sequence) or len(address) != len(self.ranges):
            return False
        return all(lo <= v <= hi for v, (lo, hi) in zip(address, self.ranges, strict=True))

    def contains(self, other: Box) -> bool:
        """Whether every point of ``other`` is in this box. O(d)."""
        if len(other.ranges) != len(self.ranges):
            return False
        # A plain loop: all() over a generator costs twice as much, and pools are added often.
        for (a, b), (c, d) in zip(self.ranges, other.ranges, strict=True):
            if c < a or b < d:
                return False
        return True

    def overlaps(self, other: Box) -> bool:
        """Whether the boxes share a point. O(d)."""
        return self.intersection(other) is not None

    def intersection(self, other: Box) -> Box | None:
        """The common points as a box, or ``None``. O(d)."""
        out: list[Range] = []
        for (a, b), (c, d) in zip(self.ranges, other.ranges, strict=True):
            lo, hi = max(a, c), min(b, d)
            if lo > hi:
                return None
            out.append((lo, hi))
        return Box(out)

    def addresses(self) -> Iterator[tuple[int, ...]]:
        """Every point in lexicographic order. O(1) per point."""
        return product(*(range(lo, hi + 1) for lo, hi in self.ranges))

    def is_run_within(self, bounds: Box) -> bool:
        """Whether the points are consecutive in the lexicographic order of ``bounds``.

        True when the dimensions before the first wide one are single values and those after
        it span ``bounds``. O(d).
        """
        wide = [k for k, (lo, hi) in enumerate(self.ranges) if lo != hi]
        if not wide:
            return True
        k = wide[0]
        return self.ranges[k + 1 :] == bounds.ranges[k + 1 :]


BoxLike = Box | Iterable[tuple[int, int] | int]


def boxes_between(bounds: Box, first: Sequence[int], last: Sequence[int]) -> Iterator[Box]:
    """Split the lexicographic run ``first..last`` of ``bounds`` into boxes, in order.

    The canonical split: a run is cut into at most ``2d - 1`` boxes, each as wide as the run
    allows. ``first`` and ``last`` must be points of ``bounds`` with ``first <= last``. O(d²).

    >>> b = Box([(0, 1), (0, 31), (0, 7)])
    >>> [str(x) for x in boxes_between(b, (0, 13, 3), (1, 31, 7))]
    ['{0..0}{13..13}{3..7}', '{0..0}{14..31}{0..7}', '{1..1}{0..31}{0..7}']
    """
    los, his = bounds.lo, bounds.hi
    n = len(los)
    a0, b0 = tuple(first), tuple(last)

    def rec(
        d: int, prefix: tuple[Range, ...], a: tuple[int, ...], b: tuple[int, ...]
    ) -> Iterator[Box]:
        if d == n - 1:
            yield Box((*prefix, (a[d], b[d])))
            return
        full = tuple(zip(los[d + 1 :], his[d + 1 :], strict=True))
        a_low = a[d + 1 :] == los[d + 1 :]
        b_high = b[d + 1 :] == his[d + 1 :]
        if a_low and b_high:
            yield Box((*prefix, (a[d], b[d]), *full))
        elif a[d] == b[d]:
            yield from rec(d + 1, (*prefix, (a[d], a[d])), a, b)
        else:
            start, end = a[d], b[d]
            if not a_low:
                yield from rec(d + 1, (*prefix, (a[d], a[d])), a, (*a[: d + 1], *his[d + 1 :]))
                start += 1
            if not b_high:
                end -= 1
            if start <= end:
                yield Box((*prefix, (start, end), *full))
            if not b_high:
                yield from rec(d + 1, (*prefix, (b[d], b[d])), (*b[: d + 1], *los[d + 1 :]), b)

    return rec(0, (), a0, b0)
