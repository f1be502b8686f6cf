"""A point-location index over disjoint boxes (the pools of a space).

A trie of elementary segments: the root cuts the first dimension into disjoint segments, each
leading to a node for the next dimension, down to the boxes themselves. Finding the box of a
point is one bisection per dimension, ``O(d log m)`` for ``m`` segments per level; adding a box
cuts the segments it straddles, copying the sub-trie of a segment that is cut in two.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from virtaddr.alloc.box import Box

__all__ = ["BoxIndex"]

T = TypeVar("T")


class _Node:
    __slots__ = ("his", "kids", "los")

    def __init__(self) -> None:
        self.los: list[int] = []
        self.his: list[int] = []
        self.kids: list[Any] = []  # _Node, or the stored value at the last dimension

    def copy(self, depth: int) -> _Node:
        """A deep copy of the nodes (not of the stored values) ``depth`` levels down."""
        n = _Node()
        n.los, n.his = self.los[:], self.his[:]
        n.kids = [k.copy(depth - 1) for k in self.kids] if depth > 1 else self.kids[:]
        return n


class BoxIndex(Generic[T]):
    """Disjoint boxes of ``dims`` dimensions, each with a value; find the value of a point.

    >>> ix = BoxIndex[str](2)
    >>> ix.add(Box([(0, 0), (0, 31)]), "bus 0"); ix.add(Box([(1, 1), (0, 31)]), "bus 1")
    >>> ix.find((1, 5)), ix.find((2, 0)), ix.overlapping(Box([(0, 1), (3, 3)]))
    ('bus 1', None, ['bus 0', 'bus 1'])
    """

    __slots__ = ("_dims", "_root")

    def __init__(self, dims: int) -> None:
        self._dims = dims
        self._root = _Node()

    def find(self, point: Sequence[int]) -> T | None:
        """The value of the box holding ``point``, or ``None``. O(d log m)."""
        node: Any = self._root
        for v in point:
            i = bisect_right(node.los, v) - 1
            if i < 0 or v > node.his[i]:
                return None
            node = node.kids[i]
        return node  # type: ignore[no-any-return]

    def overlapping(self, box: Box) -> list[T]:
        """The values of the boxes meeting ``box``, each once. O(d log m + visited segments)."""
        found: dict[int, T] = {}
        self._walk(self._root, 0, box.ranges, found)
        return list(found.values())

    def _walk(
        self, node: _Node, d: int, ranges: tuple[tuple[int, int], ...], found: dict[int, T]
    ) -> None:
        lo, hi = ranges[d]
        i = bisect_left(node.his, lo)
        last = d == self._dims - 1
        while i < len(node.los) and node.los[i] <= hi:
            kid = node.kids[i]
            if last:
                found.setdefault(id(kid), kid)
            else:
                self._walk(kid, d + 1, ranges, found)
            i += 1

    def add(self, box: Box, value: T) -> None:
        """Add ``box`` with its value; the caller has checked it meets no box. O(segments cut)."""
        self._insert(self._root, 0, box.ranges, value)

    def _chain(self, ranges: tuple[tuple[int, int], ...], d: int, value: T) -> Any:
        """A path of one-segment nodes for dimensions ``d ..``, ending in ``value``."""
        kid: Any = value
        for k in range(self._dims - 1, d - 1, -1):
            n = _Node()
            n.los, n.his, n.kids = [ranges[k][0]], [ranges[k][1]], [kid]
            kid = n
        return kid

    def _cut(self, node: _Node, x: int, d: int) -> None:
        """Make ``x`` the start of a segment if a segment runs across it."""
        i = bisect_right(node.los, x) - 1
        if i >= 0 and node.los[i] < x <= node.his[i]:
            kid = node.kids[i]
            twin = kid.copy(self._dims - d - 1) if d < self._dims - 1 else kid
            node.los.insert(i + 1, x)
            node.his.insert(i + 1, node.his[i])
            node.kids.insert(i + 1, twin)
            node.his[i] = x - 1

    def _insert(self, node: _Node, d: int, ranges: tuple[tuple[int, int], ...], value: T) -> None:
        lo, hi = ranges[d]
        if node.los:
            self._cut(node, lo, d)
            self._cut(node, hi + 1, d)
        i = bisect_left(node.los, lo)
        x = lo
        while x <= hi:
            if i < len(node.los) and node.los[i] == x:
                if d == self._dims - 1:
                    raise ValueError(f"box {Box(ranges)} overlaps a box of the index")
                self._insert(node.kids[i], d + 1, ranges, value)
                x = node.his[i] + 1
            else:
                end = hi if i == len(node.los) else min(hi, node.los[i] - 1)
                node.los.insert(i, x)
                node.his.insert(i, end)
                node.kids.insert(i, self._chain(ranges, d + 1, value))
                x = end + 1
            i += 1
