"""IntervalSet, BitSet and IntervalMap against Python sets and dicts, with tiny chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, strategies as st

from virtaddr.alloc import intervals
from virtaddr.alloc.bits import BitSet
from virtaddr.alloc.intervals import IntervalMap, IntervalSet


@pytest.fixture
def tiny_chunks() -> Iterator[None]:
    saved = intervals.LOAD
    intervals.LOAD = 2  # chunks of 1..4 runs: every split and merge path runs
    try:
        yield
    finally:
        intervals.LOAD = saved


def _runs_of(points: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in sorted(points):
        if out and out[-1][1] == p - 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


ops = st.lists(
    st.tuples(st.booleans(), st.integers(0, 120), st.integers(0, 4)), min_size=1, max_size=120
)


@pytest.mark.parametrize("make", [lambda: IntervalSet([(0, 124)]), lambda: BitSet(125)])
@given(steps=ops)
def test_free_sets_match_a_set(
    make: Callable[[], IntervalSet | BitSet], steps: list[tuple[bool, int, int]]
) -> None:
    saved = intervals.LOAD
    intervals.LOAD = 2
    try:
        s = make()
        model = set(range(125))
        for add, lo, width in steps:
            hi = lo + width
            span = set(range(lo, hi + 1))
            if add:
                if span & model:
                    with pytest.raises(ValueError):
                        s.add(lo, hi)
                else:
                    s.add(lo, hi)
                    model |= span
            elif span <= model:
                s.remove(lo, hi)
                model -= span
            else:
                runs = list(s)
                with pytest.raises(ValueError):
                    s.remove(lo, hi)
                assert list(s) == runs
            s._check()
            assert list(s) == _runs_of(model)
            assert s.total == len(model)
            assert s.count(lo, hi) == len(span & model)
            assert (lo in s) == (lo in model)
            assert s.covers(lo, hi) == (span <= model and len(span) == hi - lo + 1)
            assert s.find(lo) == next((r for r in _runs_of(model) if r[1] >= lo), None)
    finally:
        intervals.LOAD = saved


@given(ops)
def test_interval_map_matches_a_dict(steps: list[tuple[bool, int, int]]) -> None:
    saved = intervals.LOAD
    intervals.LOAD = 2
    try:
        m: IntervalMap[int] = IntervalMap()
        model: dict[int, int] = {}
        for n, (insert, lo, width) in enumerate(steps):
            hi = lo + width
            span = range(lo, hi + 1)
            if insert:
                if any(p in model for p in span):
                    with pytest.raises(ValueError):
                        m.insert(lo, hi, n)
                else:
                    m.insert(lo, hi, n)
                    model.update(dict.fromkeys(span, n))
            else:
                removed = m.remove(lo, hi)
                assert [p for a, b, _ in removed for p in range(a, b + 1)] == [
                    p for p in span if p in model
                ]
                for p in span:
                    model.pop(p, None)
            m._check()
            assert {p: v for a, b, v in m for p in range(a, b + 1)} == model
            hit = m.get(lo)
            assert (hit[2] if hit else None) == model.get(lo)
    finally:
        intervals.LOAD = saved


def test_many_runs_split_and_merge_chunks(tiny_chunks: None) -> None:
    s = IntervalSet([(0, 999)])
    for x in range(0, 1000, 2):
        s.remove(x, x)
    s._check()
    assert len(s) == 500 and s.total == 500
    for x in range(0, 1000, 2):
        s.add(x, x)
        s._check()
    assert list(s) == [(0, 999)]


def test_huge_integers_are_exact() -> None:
    s = IntervalSet([(0, 2**128 - 1)])
    s.remove(2**127, 2**127)
    assert s.total == 2**128 - 1
    assert s.count(2**126, 2**128 - 1) == 3 * 2**126 - 1
    assert list(s) == [(0, 2**127 - 1), (2**127 + 1, 2**128 - 1)]


def test_empty_runs_are_refused() -> None:
    with pytest.raises(ValueError):
        IntervalSet().add(3, 2)
    with pytest.raises(ValueError):
        IntervalMap[str]().insert(3, 2, "x")


def test_bitset_first_in_mask() -> None:
    s = BitSet(16)
    s.remove(0, 4)
    assert s.first_in_mask(0b1000_0001_0000_0001, 0) == 8
    assert s.first_in_mask(0b1000_0001_0000_0001, 9) == 15
    assert s.first_in_mask(0b1, 0) is None
    with pytest.raises(ValueError):
        s.add(15, 16)  # beyond the size
