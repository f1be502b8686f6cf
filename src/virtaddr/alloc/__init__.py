"""The generic address allocator: pools of boxes, free runs, owners. Standard library only.

>>> from virtaddr.alloc import AddressSpace
>>> space = AddressSpace.from_dims(("bus", 0, 1), ("slot", 0, 31), ("function", 0, 7))
>>> _ = space.add_pool([(0, 1), (0, 31), (0, 7)], flags={"pci"}, name="root")
>>> space.reserve_first((None, (3, 31), 0), owner="nic", flags={"pci"})
(0, 3, 0)

Layers: :mod:`~virtaddr.alloc.intervals` (sorted disjoint runs) and
:mod:`~virtaddr.alloc.box` (products of ranges) know nothing of spaces;
:mod:`~virtaddr.alloc.kind` and :mod:`~virtaddr.alloc.request` describe what is asked;
:mod:`~virtaddr.alloc.space` puts them together.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from virtaddr.alloc.box import Box, BoxLike, boxes_between
    from virtaddr.alloc.intervals import IntervalMap, IntervalSet
    from virtaddr.alloc.kind import AddressKind, Field
    from virtaddr.alloc.request import Request, RequestItem, RequestLike
    from virtaddr.alloc.space import AddressSpace, Pool, PoolRow, Search

# Each name is loaded from its module on first use (PEP 562), so that a user of one module
# (the libvirt pass needs only ``kind`` for disk names) does not pay for all of them.
_HOME = {
    "AddressKind": "kind",
    "AddressSpace": "space",
    "Box": "box",
    "BoxLike": "box",
    "Field": "kind",
    "IntervalMap": "intervals",
    "IntervalSet": "intervals",
    "Pool": "space",
    "PoolRow": "space",
    "Request": "request",
    "RequestItem": "request",
    "RequestLike": "request",
    "Search": "space",
    "boxes_between": "box",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "AddressKind",
    "AddressSpace",
    "Box",
    "BoxLike",
    "Field",
    "IntervalMap",
    "IntervalSet",
    "Pool",
    "PoolRow",
    "Request",
    "RequestItem",
    "RequestLike",
    "Search",
    "boxes_between",
]
