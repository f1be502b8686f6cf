"""IP addresses: IPv4 as four octets, IPv6 as one 128-bit field.

Text conversions use the standard library's :mod:`ipaddress`; the allocator only sees ints. A
CIDR network is one box in both kinds (its host bits span whole octets, and the octet where the
prefix ends spans an aligned range), so it is one pool.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from virtaddr.alloc.box import Box, boxes_between
from virtaddr.alloc.kind import AddressKind, Field
from virtaddr.alloc.space import AddressSpace
from virtaddr.errors import Exhausted, InvalidAddress

__all__ = [
    "IPV4",
    "IPV6",
    "cidr_box",
    "format_ipv4",
    "format_ipv6",
    "kind_of",
    "parse",
    "parse_ipv4",
    "parse_ipv6",
    "proposal_example",
    "range_box",
    "range_boxes",
]


def format_ipv4(address: Sequence[int]) -> str:
    """``(192, 168, 1, 2)`` -> ``'192.168.1.2'``."""
    return str(ipaddress.IPv4Address(bytes(address)))


def format_ipv6(address: Sequence[int]) -> str:
    """``(1,)`` -> ``'::1'`` (compressed form)."""
    (value,) = address
    return str(ipaddress.IPv6Address(value))


IPV4 = AddressKind("ipv4", tuple(Field(f"o{i}", 0, 255) for i in range(1, 5)), format_ipv4)
IPV6 = AddressKind("ipv6", (Field("address", 0, (1 << 128) - 1),), format_ipv6)


def parse_ipv4(text: str) -> tuple[int, int, int, int]:
    """``'192.168.1.2'`` -> ``(192, 168, 1, 2)``; InvalidAddress otherwise."""
    try:
        a, b, c, d = ipaddress.IPv4Address(text.strip()).packed
    except ValueError as e:
        raise InvalidAddress(f"not an IPv4 address: {text!r} ({e})") from None
    return a, b, c, d


def parse_ipv6(text: str) -> tuple[int]:
    """``'::1'`` -> ``(1,)``; InvalidAddress otherwise."""
    try:
        return (int(ipaddress.IPv6Address(text.strip())),)
    except ValueError as e:
        raise InvalidAddress(f"not an IPv6 address: {text!r} ({e})") from None


def kind_of(text: str) -> AddressKind:
    """IPV6 when the text has a colon, else IPV4."""
    return IPV6 if ":" in text else IPV4


def parse(text: str) -> tuple[int, ...]:
    """An IPv4 or IPv6 address as the tuple of its kind (see :func:`kind_of`)."""
    return parse_ipv6(text) if kind_of(text) is IPV6 else parse_ipv4(text)


def cidr_box(text: str) -> Box:
    """The box of a network in CIDR notation (host bits must be zero).

    >>> str(cidr_box("192.168.1.0/24")), str(cidr_box("10.0.16.0/20"))
    ('{192..192}{168..168}{1..1}{0..255}', '{10..10}{0..0}{16..31}{0..255}')
    >>> cidr_box("2001:db8::/64").size == 2**64
    True
    """
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as e:
        raise InvalidAddress(f"not a network in CIDR notation: {text!r} ({e})") from None
    if net.version == 6:
        return Box([(int(net.network_address), int(net.broadcast_address))])
    first, last = net.network_address.packed, net.broadcast_address.packed
    return Box(zip(first, last, strict=True))


def range_boxes(first: str, last: str) -> list[Box]:
    """The addresses ``first..last`` (inclusive, same family) as boxes in order.

    >>> [str(b) for b in range_boxes("10.0.0.250", "10.0.1.9")]
    ['{10..10}{0..0}{0..0}{250..255}', '{10..10}{0..0}{1..1}{0..9}']
    """
    kind = kind_of(first)
    if kind_of(last) is not kind:
        raise InvalidAddress(f"range {first}..{last} mixes IPv4 and IPv6")
    a, b = parse(first), parse(last)
    if a > b:
        raise InvalidAddress(f"empty range {first}..{last}")
    return list(boxes_between(kind.bounds, a, b))


def range_box(first: str, last: str) -> Box:
    """The range ``first..last`` as one box, for a request; InvalidAddress if it is not one.

    >>> str(range_box("192.168.1.2", "192.168.1.240"))
    '{192..192}{168..168}{1..1}{2..240}'
    """
    boxes = range_boxes(first, last)
    if len(boxes) != 1:
        raise InvalidAddress(
            f"range {first}..{last} is {len(boxes)} boxes, not one; request each of range_boxes()"
        )
    return boxes[0]


def proposal_example(shown: int = 3) -> list[str]:
    """The proposal's IP example, as lines to print.

    A pool 192.168.1.0/24; the router reserves 192.168.1.254 explicitly; then computers take
    the first free address in 192.168.1.2–192.168.1.240 until the 240th is refused. Only the
    first and last ``shown`` computers are listed.
    """
    space = AddressSpace(IPV4)
    space.add_pool(cidr_box("192.168.1.0/24"), name="192.168.1.0/24")
    lines = ["pool 192.168.1.0/24"]
    router = space.reserve(parse_ipv4("192.168.1.254"), owner="router")
    lines.append(f"router      -> {format_ipv4(router)} (reserved explicitly)")
    request = range_box("192.168.1.2", "192.168.1.240")
    got: list[str] = []
    n = 0
    while True:
        n += 1
        try:
            address = space.reserve_first(request, owner=f"computer {n}")
        except Exhausted as e:
            failure = f"computer {n:<3} -> Exhausted: {e}"
            break
        got.append(f"computer {n:<3} -> {format_ipv4(address)}")
    lines += got[:shown]
    if len(got) > 2 * shown:
        lines.append(f"... ({len(got) - 2 * shown} more)")
        lines += got[-shown:]
    else:
        lines += got[shown:]
    lines.append(failure)
    free = ", ".join(IPV4.describe_box(b) for b in space.free_boxes())
    lines.append(f"still free in the pool: {space.count_free()} ({free})")
    return lines
