"""Requests: what a caller asks the allocator for, one item per dimension.

An item is an int (the proposal's ``AllocatorValue``: exactly this value), an inclusive
``(lo, hi)`` tuple (``AllocatorRange``) or ``None`` (any value the dimension allows).
"""

from __future__ import annotations

from collections.abc import Sequence

from virtaddr.alloc.box import Box, Frozen, _is_int
from virtaddr.errors import InvalidAddress

__all__ = ["Request", "RequestItem", "RequestLike"]

RequestItem = int | tuple[int, int] | None


class Request(Frozen):
    """A request: per dimension an exact value, an inclusive range, or ``None`` for any.

    >>> Request.of(0, 1, None, (0, 3)).box(Box([(0, 9), (0, 9), (0, 31), (0, 7)]))
    Box.parse('{0..0}{1..1}{0..31}{0..3}')
    """

    __slots__ = ("items",)
    items: tuple[RequestItem, ...]

    def __init__(self, items: tuple[RequestItem, ...]) -> None:
        object.__setattr__(self, "items", items)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Request)
        return self.items == other.items

    def __hash__(self) -> int:
        return hash(self.items)

    def __repr__(self) -> str:
        return f"Request(items={self.items!r})"

    @classmethod
    def of(cls, *items: RequestItem) -> Request:
        """A request from its items, one per dimension."""
        return cls(tuple(items))

    @classmethod
    def coerce(cls, request: RequestLike) -> Request | Box:
        """A :class:`Request` (or the :class:`Box` itself) from anything a method accepts."""
        if isinstance(request, Request | Box):
            return request
        return cls(tuple(request))

    def box(self, bounds: Box) -> Box:
        """The box of addresses the request allows within ``bounds``. O(d).

        Raises :class:`~virtaddr.errors.InvalidAddress` on a wrong number of items or a value or
        range that is not entirely within ``bounds``.
        """
        if len(self.items) != len(bounds.ranges):
            raise InvalidAddress(
                f"request {self} has {len(self.items)} items, the space {len(bounds.ranges)}"
            )
        out: list[tuple[int, int]] = []
        for item, (lo, hi) in zip(self.items, bounds.ranges, strict=True):
            if item is None:
                out.append((lo, hi))
                continue
            if _is_int(item):
                assert isinstance(item, int)
                a = b = item
            elif isinstance(item, tuple) and len(item) == 2 and all(map(_is_int, item)):
                a, b = item
            else:
                raise InvalidAddress(f"request item {item!r} is not an int, (lo, hi) or None")
            if not lo <= a <= b <= hi:
                raise InvalidAddress(f"request item {item!r} is not within {lo}..{hi}")
            out.append((a, b))
        return Box(out)

    def __str__(self) -> str:
        parts = []
        for item in self.items:
            if item is None:
                parts.append("*")
            elif isinstance(item, tuple):
                parts.append(f"{item[0]}..{item[1]}")
            else:
                parts.append(str(item))
        return "(" + ", ".join(parts) + ")"


RequestLike = Request | Box | Sequence[RequestItem]
