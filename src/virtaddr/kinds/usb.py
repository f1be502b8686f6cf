"""USB addresses: a bus and a port path of up to four levels (``1.2`` = hub on port 1, port 2).

Ports count from 1; a level that is absent is 0 and every level after it is absent too, so the
path ``1.2`` is ``(1, 2, 0, 0)``. Lexicographic order is then the natural order of paths
(``1`` < ``1.1`` < ``1.2`` < ``2``), and a hub's ports are one box: the hub on ``1`` with 8 ports
is ``{bus}{1..1}{1..8}{0..0}{0..0}``.
"""

from __future__ import annotations

from collections.abc import Sequence

from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.errors import InvalidAddress
from virtaddr.kinds.attrs import UINT32_MAX, USB_PORT, AddressType, Attr

__all__ = ["ADDRESS", "KIND", "LEVELS", "format_address", "format_port", "hub_box", "parse_port"]

LEVELS = 4
MAX_PORT = 0xFF

Path = tuple[int, int, int, int]


def _check_path(path: Sequence[int]) -> Path:
    t = tuple(path)
    if len(t) != LEVELS:
        raise InvalidAddress(f"USB port path {t} must have {LEVELS} levels (0 = absent)")
    if t[0] == 0:
        raise InvalidAddress(f"USB port path {t} is empty (ports count from 1)")
    for i, v in enumerate(t):
        if not 0 <= v <= MAX_PORT:
            raise InvalidAddress(f"USB port {v} is not within 1..{MAX_PORT}")
        if v == 0 and any(t[i + 1 :]):
            raise InvalidAddress(f"USB port path {t} has a port after an absent level")
    return t[0], t[1], t[2], t[3]


def parse_port(text: str) -> Path:
    """``'1.2'`` -> ``(1, 2, 0, 0)``; raises InvalidAddress for ``''``, ``'0'``, ``'1..2'``,
    more than four levels or a port past 255.

    >>> parse_port("1"), parse_port("3.1.4")
    ((1, 0, 0, 0), (3, 1, 4, 0))
    """
    parts = text.strip().split(".")
    if len(parts) > LEVELS:
        raise InvalidAddress(f"USB port {text!r} has more than {LEVELS} levels")
    values: list[int] = []
    for part in parts:
        if not part.isdigit() or not part.isascii():
            raise InvalidAddress(f"USB port {text!r}: {part!r} is not a port number")
        v = int(part)
        if not 1 <= v <= MAX_PORT:
            raise InvalidAddress(f"USB port {text!r}: port {v} is not within 1..{MAX_PORT}")
        values.append(v)
    return _check_path(values + [0] * (LEVELS - len(values)))


def format_port(path: Sequence[int]) -> str:
    """``(1, 2, 0, 0)`` -> ``'1.2'``."""
    t = _check_path(path)
    return ".".join(str(v) for v in t if v)


def format_address(address: Sequence[int]) -> str:
    """``(0, 1, 2, 0, 0)`` -> ``'bus 0 port 1.2'``; a path of zeros shows as ``port -``."""
    bus, *path = address
    port = ".".join(str(v) for v in path if v) or "-"
    return f"bus {bus} port {port}"


KIND = AddressKind(
    "usb",
    (
        Field("bus", 0, UINT32_MAX),
        *(Field(f"p{i}", 0, MAX_PORT) for i in range(1, LEVELS + 1)),
    ),
    format_address=format_address,
)


def hub_box(bus: int, hub: Sequence[int] | None, ports: int) -> list[tuple[int, int]]:
    """The ports of a hub as a pool box: ``hub`` is its own path (``None``: the root hub).

    >>> hub_box(0, None, 4), hub_box(0, (1, 0, 0, 0), 8)
    ([(0, 0), (1, 4), (0, 0), (0, 0), (0, 0)], [(0, 0), (1, 1), (1, 8), (0, 0), (0, 0)])
    """
    prefix: tuple[int, ...] = () if hub is None else tuple(v for v in _check_path(hub) if v)
    if len(prefix) >= LEVELS:
        raise InvalidAddress(f"a hub at depth {LEVELS} cannot have ports")
    if not 1 <= ports <= MAX_PORT:
        raise InvalidAddress(f"a hub has 1..{MAX_PORT} ports, not {ports}")
    box = [(bus, bus)] + [(v, v) for v in prefix] + [(1, ports)]
    return box + [(0, 0)] * (LEVELS + 1 - len(box))


#: ``<address type='usb'>``: the bus in decimal, the port as a dotted path (empty: any port).
ADDRESS = AddressType(
    "usb", (Attr.of_field(KIND.fields[0]), Attr("port", value=USB_PORT)), kind=KIND
)
