"""Box values, their notation and the split of a lexicographic run into boxes."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from virtaddr.alloc import Box, boxes_between
from virtaddr.errors import InvalidAddress


def test_str_and_parse_round_trip() -> None:
    b = Box([(0, 0), (0, 31), (0, 7)])
    assert str(b) == "{0..0}{0..31}{0..7}"
    assert Box.parse(str(b)) == b
    assert Box.parse("{0..0}:{0..31}.{0..7}") == b  # the proposal's notation
    assert Box.parse(" {0x0} {0..0x1f} , {0..7} ") == b
    assert Box([0, (0, 31), 7]).ranges == ((0, 0), (0, 31), (7, 7))


@pytest.mark.parametrize("text", ["", "{}", "{1..}", "{2..1}", "{0..1} x", "0..1", "{a..b}"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(InvalidAddress):
        Box.parse(text)


@pytest.mark.parametrize("ranges", [[(3, 2)], [(0, 1.5)], [(True, 2)], ["ab"], [(1, 2, 3)]])
def test_bad_ranges(ranges: list[object]) -> None:
    with pytest.raises(InvalidAddress):
        Box(ranges)  # type: ignore[arg-type]


def test_set_operations() -> None:
    a = Box([(0, 3), (0, 3)])
    b = Box([(2, 5), (3, 9)])
    assert a.intersection(b) == Box([(2, 3), (3, 3)])
    assert a.overlaps(b) and not a.overlaps(Box([(4, 4), (0, 0)]))
    assert a.contains(Box([(1, 2), (0, 3)])) and not a.contains(b)
    assert (3, 3) in a and (4, 0) not in a and (1,) not in a
    assert a.size == 16 and Box([(0, 2**128 - 1)]).size == 2**128
    assert list(Box([(0, 1), (5, 6)]).addresses()) == [(0, 5), (0, 6), (1, 5), (1, 6)]
    assert Box.point((1, 2)).is_point


def test_runs_within_bounds() -> None:
    bounds = Box([(0, 1), (0, 31), (0, 7)])
    assert Box([(0, 0), (3, 3), (0, 7)]).is_run_within(bounds)
    assert Box([(0, 0), (3, 5), (0, 7)]).is_run_within(bounds)
    assert not Box([(0, 0), (3, 5), (0, 6)]).is_run_within(bounds)


def test_boxes_between_worked_example() -> None:
    bounds = Box([(0, 1), (0, 31), (0, 7)])
    assert [str(b) for b in boxes_between(bounds, (0, 0, 0), (0, 13, 1))] == [
        "{0..0}{0..12}{0..7}",
        "{0..0}{13..13}{0..1}",
    ]
    assert [str(b) for b in boxes_between(bounds, (0, 0, 0), (1, 31, 7))] == [str(bounds)]


bounds3 = Box([(1, 3), (0, 3), (2, 4)])
points3 = sorted(bounds3.addresses())


@given(st.integers(0, len(points3) - 1), st.integers(0, len(points3) - 1))
def test_boxes_between_covers_the_run_exactly(i: int, j: int) -> None:
    i, j = min(i, j), max(i, j)
    boxes = list(boxes_between(bounds3, points3[i], points3[j]))
    assert len(boxes) <= 2 * bounds3.dims - 1
    points = [p for b in boxes for p in b.addresses()]
    assert points == points3[i : j + 1]  # in order, no gaps, no repeats
