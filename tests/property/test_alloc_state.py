"""The allocator against a plain dict model, as a hypothesis state machine.

The space is small (3 x 4 x 5 = 60 addresses) so the model can brute-force every answer: the
first free address in lexicographic order, exact counts, the free set. ``_check()`` runs after
every step. Each pool draws its representation (a bitmap, sorted runs, or the size's default),
so both are held to the same model, side by side in one space.
"""

from __future__ import annotations

from itertools import product

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from virtaddr.alloc import AddressSpace, Box, Pool, PoolRow, Search
from virtaddr.errors import Collision, Exhausted, NotReserved, OutOfPool, PoolOverlap

BOUNDS = ((0, 2), (0, 3), (0, 4))
ALL = list(product(*(range(lo, hi + 1) for lo, hi in BOUNDS)))  # lexicographic order
FLAGS = ["a", "b"]
Request = tuple[int | tuple[int, int] | None, ...]


@st.composite
def ranges(draw: st.DrawFn, lo: int, hi: int) -> tuple[int, int]:
    a = draw(st.integers(lo, hi))
    b = draw(st.integers(a, min(hi, a + draw(st.sampled_from([0, 1, 2, hi])))))
    return a, b


boxes = st.tuples(*(ranges(lo, hi) for lo, hi in BOUNDS)).map(Box)
addresses = st.sampled_from(ALL)
items = st.one_of(
    st.none(),
    st.integers(0, 4),
    st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda t: (min(t), max(t))),
)
requests = st.tuples(*(items.map(lambda i, hi=hi: _clamp(i, hi)) for _, hi in BOUNDS))
flag_sets = st.frozensets(st.sampled_from(FLAGS))
owners = st.sampled_from(["vda", "vdb", "nic", "hub"])
representations = st.sampled_from([None, True, False])  # add_pool's dense=


def _clamp(item: int | tuple[int, int] | None, hi: int) -> int | tuple[int, int] | None:
    if item is None:
        return None
    if isinstance(item, int):
        return min(item, hi)
    return (min(item[0], hi), min(item[1], hi))


def _in_request(a: tuple[int, ...], request: Request) -> bool:
    for v, item in zip(a, request, strict=True):
        if item is None:
            continue
        if isinstance(item, int):
            if v != item:
                return False
        elif not item[0] <= v <= item[1]:
            return False
    return True


class AllocatorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.space = AddressSpace.from_dims(("x", 0, 2), ("y", 0, 3), ("z", 0, 4))
        self.pool_of: dict[tuple[int, ...], Pool] = {}  # model: address -> pool
        self.held: dict[tuple[int, ...], str] = {}  # model: address -> owner
        self.opened: dict[str, set[tuple[int, ...]]] = {}  # model: share -> addresses opened
        # Prepared searches and rows, kept across steps (pools added, released, fingers dropped).
        self.searches: dict[tuple[object, ...], Search] = {}
        self.rows: list[tuple[PoolRow, int]] = []

    # -------------------------------------------------------------- model helpers

    def model_free(self, a: tuple[int, ...], flags: frozenset[str] = frozenset()) -> bool:
        p = self.pool_of.get(a)
        return p is not None and flags <= p.flags and a not in self.held

    def block(self, a: tuple[int, ...], whole: int) -> list[tuple[int, ...]]:
        """The addresses of ``a``'s pool that differ from it in the last ``whole`` dims only."""
        keep = len(a) - whole
        pool = self.pool_of.get(a)
        return [b for b in ALL if b[:keep] == a[:keep] and self.pool_of.get(b) is pool]

    def block_free(self, a: tuple[int, ...], whole: int) -> bool:
        return all(self.model_free(b) for b in self.block(a, whole))

    def open_if_free(self, a: tuple[int, ...], whole: int, share: str | None) -> None:
        if share is not None and self.block_free(a, whole):
            self.opened.setdefault(share, set()).update(self.block(a, whole))

    def expected_first(
        self,
        request: Request,
        flags: frozenset[str],
        any_flags: frozenset[str],
        whole: int,
        share: str | None,
    ) -> tuple[int, ...] | None:
        return next(
            (
                a
                for a in ALL
                if _in_request(a, request)
                and self.model_free(a, flags)
                and (not any_flags or any_flags & self.pool_of[a].flags)
                and (
                    self.block_free(a, whole)
                    or (share is not None and a in self.opened.get(share, ()))
                )
            ),
            None,
        )

    # -------------------------------------------------------------- rules

    @precondition(lambda self: len(self.pool_of) < len(ALL))
    @rule(box=boxes, dim=st.integers(0, 2), values=st.lists(st.integers(0, 4), max_size=4))
    def add_pools_along(self, box: Box, dim: int, values: list[int]) -> None:
        values = [min(v, BOUNDS[dim][1]) for v in values]
        rows = [Box([(v, v) if i == dim else r for i, r in enumerate(box.ranges)]) for v in values]
        points = [a for b in rows for a in b.addresses()]
        if any(a in self.pool_of for a in points) or len(points) != len(set(points)):
            try:
                self.space.add_pools_along(box, dim, values)
            except PoolOverlap:
                pass
            else:
                raise AssertionError("overlapping pools accepted")
            # Pools before the clash were added: take them into the model.
            for pool in self.space.pools:
                for a in pool.box.addresses():
                    self.pool_of.setdefault(a, pool)
            return
        pools = self.space.add_pools_along(box, dim, values, flags={"a"})
        for pool, b in zip(pools, rows, strict=True):
            assert pool.box == b and pool.flags == {"a"}
            for a in b.addresses():
                self.pool_of[a] = pool

    @rule(
        request=requests,
        flags=flag_sets,
        any_flags=flag_sets,
        whole=st.integers(0, 3),
        share=st.sampled_from([None, "agg"]),
        owner=owners,
        times=st.integers(1, 4),
    )
    def reserve_first_block(
        self,
        request: Request,
        flags: frozenset[str],
        any_flags: frozenset[str],
        whole: int,
        share: str | None,
        owner: str,
        times: int,
    ) -> None:
        for _ in range(times):
            expected = self.expected_first(request, flags, any_flags, whole, share)
            kw = {"any_flags": any_flags, "whole": whole, "share": share}
            assert self.space.first_free(request, flags, **kw) == expected  # type: ignore[arg-type]
            got = self.space.try_reserve_first(request, owner, flags, **kw)  # type: ignore[arg-type]
            assert got == expected, (got, expected)
            if got is None:
                return
            self.open_if_free(got, whole, share)
            self.held[got] = owner

    @rule(
        request=requests,
        flags=flag_sets,
        any_flags=flag_sets,
        whole=st.integers(0, 2),
        share=st.sampled_from([None, "agg"]),
        owner=owners,
        times=st.integers(1, 4),
        by_index=st.booleans(),
    )
    def search_take(
        self,
        request: Request,
        flags: frozenset[str],
        any_flags: frozenset[str],
        whole: int,
        share: str | None,
        owner: str,
        times: int,
        by_index: bool,
    ) -> None:
        """A prepared search, kept across steps, against the model."""
        key = (request, flags, any_flags, whole, share)
        search = self.searches.get(key)
        if search is None:
            search = self.searches[key] = self.space.search(
                request, flags, any_flags=any_flags, whole=whole, share=share
            )
        for _ in range(times):
            expected = self.expected_first(request, flags, any_flags, whole, share)
            assert search.first() == expected
            if by_index:
                found = search.take_index(owner)
                got = None if found is None else found[0].decode(found[1])
            else:
                got = search.take(owner)
            assert got == expected, (got, expected)
            if got is None:
                return
            self.open_if_free(got, whole, share)
            self.held[got] = owner

    @rule(n=st.integers(1, 40))
    def many_requests(self, n: int) -> None:
        """Distinct requests, enough to make the space drop the fingers of older ones."""
        for i in range(n):
            self.space.first_free((None, None, (i % 5, 4)), whole=i % 3)

    @rule(a=addresses, owner=owners, whole=st.integers(0, 2), share=st.sampled_from([None, "agg"]))
    def take_by_index(self, a: tuple[int, ...], owner: str, whole: int, share: str | None) -> None:
        pool = self.pool_of.get(a)
        if pool is None:
            return
        x = pool.encode(a)
        free = self.model_free(a)
        assert pool.is_free_at(x) == free
        if free:
            self.open_if_free(a, whole, share)
        assert self.space.take(pool, x, owner, whole=whole, share=share) == free
        if free:
            self.held[a] = owner
        assert not pool.is_free_at(x) and not pool.take(x, "other")
        assert not pool.is_free_at(-1) and not pool.is_free_at(pool.size)

    @precondition(lambda self: len(self.pool_of) < len(ALL))
    @rule(box=boxes, dim=st.integers(0, 2), flags=flag_sets, dense=representations)
    def new_row(self, box: Box, dim: int, flags: frozenset[str], dense: bool | None) -> None:
        self.rows.append((self.space.row(box, dim, flags, dense), dim))

    @precondition(lambda self: bool(self.rows))
    @rule(which=st.integers(0, 10), value=st.integers(0, 4))
    def row_add(self, which: int, value: int) -> None:
        row, dim = self.rows[which % len(self.rows)]
        value = min(value, BOUNDS[dim][1])
        try:
            pool = row.add(value, data=value)
        except PoolOverlap:
            return
        assert pool.data == value and pool.flags == row.flags
        for a in pool.box.addresses():
            assert a not in self.pool_of, "a row's pool overlaps another"
            self.pool_of[a] = pool

    @rule(a=addresses, owner=owners, whole=st.integers(0, 3), share=st.sampled_from([None, "agg"]))
    def reserve_shared(self, a: tuple[int, ...], owner: str, whole: int, share: str | None) -> None:
        free = self.model_free(a)
        if free:
            self.open_if_free(a, whole, share)
        try:
            self.space.reserve(a, owner, whole=whole, share=share)
        except (OutOfPool, Collision):
            assert not free
        else:
            assert free
            self.held[a] = owner
        assert self.space.is_open(a, "agg") == (a in self.opened.get("agg", ()))
        assert self.space.is_block_free(a, whole) == (
            a in self.pool_of and self.block_free(a, whole)
        )

    @precondition(lambda self: len(self.pool_of) < len(ALL))
    @rule(box=boxes, flags=flag_sets, dense=representations)
    def add_pool(self, box: Box, flags: frozenset[str], dense: bool | None = None) -> None:
        clash = [a for a in box.addresses() if a in self.pool_of]
        if clash:
            try:
                self.space.add_pool(box, flags=flags, dense=dense)
            except PoolOverlap as e:
                assert self.pool_of[clash[0]].name in str(e) or any(
                    self.pool_of[a].name in str(e) for a in clash
                )
            else:
                raise AssertionError("overlapping pool accepted")
            return
        pool = self.space.add_pool(box, flags=flags, name=f"p{len(self.space.pools)}", dense=dense)
        for a in box.addresses():
            self.pool_of[a] = pool

    @rule(a=addresses, owner=owners)
    def reserve(self, a: tuple[int, ...], owner: str) -> None:
        try:
            self.space.reserve(a, owner)
        except OutOfPool:
            assert a not in self.pool_of
        except Collision as e:
            assert e.owner == self.held[a] and e.address == a
        else:
            assert self.model_free(a)
            self.held[a] = owner

    @initialize(
        layout=st.sampled_from(["whole", "slices", "one"]),
        box=boxes,
        flags=flag_sets,
        dense=representations,
    )
    def first_pools(self, layout: str, box: Box, flags: frozenset[str], dense: bool | None) -> None:
        # Start from a filled-in space most of the time, so reservations mostly land in pools.
        if layout == "whole":
            self.add_pool(Box(BOUNDS), flags, dense)
        elif layout == "slices":
            # Alternate the representations, so one search crosses both.
            for x in range(BOUNDS[0][1] + 1):
                rep = dense if x % 2 else not dense
                self.add_pool(Box([(x, x), *BOUNDS[1:]]), frozenset(FLAGS[: x % 3]), rep)
        else:
            self.add_pool(box, flags, dense)

    @rule(request=requests, flags=flag_sets, owner=owners, times=st.integers(1, 6))
    def reserve_first(
        self, request: Request, flags: frozenset[str], owner: str, times: int
    ) -> None:
        # The same request several times in a row fragments the free runs in the shapes that
        # make the search skip and carry.
        for _ in range(times):
            expected = next(
                (a for a in ALL if _in_request(a, request) and self.model_free(a, flags)), None
            )
            assert self.space.first_free(request, flags=flags) == expected
            try:
                got = self.space.reserve_first(request, owner, flags=flags)
            except Exhausted:
                assert expected is None
                return
            assert got == expected, (got, expected)
            self.held[got] = owner

    @rule(owner=owners)
    def reserve_any(self, owner: str) -> None:
        expected = next((a for a in ALL if self.model_free(a)), None)
        try:
            got = self.space.reserve_any(owner)
        except Exhausted:
            assert expected is None
        else:
            assert got == expected
            self.held[got] = owner

    @rule(box=boxes, owner=owners)
    def reserve_block(self, box: Box, owner: str) -> None:
        points = list(box.addresses())
        before = list(self.space.free_boxes())
        try:
            self.space.reserve_block(box, owner)
        except OutOfPool:
            assert any(a not in self.pool_of for a in points)
            assert list(self.space.free_boxes()) == before
        except Collision as e:
            assert all(a in self.pool_of for a in points)
            taken = [a for a in points if a in self.held]
            assert e.address == taken[0] and e.owner == self.held[e.address]
            assert list(self.space.free_boxes()) == before
        else:
            assert all(self.model_free(a) for a in points)
            for a in points:
                self.held[a] = owner

    @rule(a=addresses)
    def release(self, a: tuple[int, ...]) -> None:
        try:
            owner = self.space.release(a)
        except NotReserved:
            assert a not in self.held
        else:
            assert owner == self.held.pop(a)

    @rule(box=boxes)
    def release_block(self, box: Box) -> None:
        points = list(box.addresses())
        try:
            self.space.release_block(box)
        except NotReserved:
            assert not all(a in self.held for a in points)
        else:
            for a in points:
                del self.held[a]

    @rule(box=boxes, owner=owners)
    def reserve_release_restores(self, box: Box, owner: str) -> None:
        before = list(self.space.free_boxes())
        counts = self.space.count_free()
        try:
            self.space.reserve_block(box, owner)
        except (OutOfPool, Collision):
            return
        self.space.release_block(box)
        assert list(self.space.free_boxes()) == before
        assert self.space.count_free() == counts

    @rule(a=addresses)
    def queries(self, a: tuple[int, ...]) -> None:
        assert self.space.is_free(a) == self.model_free(a)
        assert self.space.owner(a) == self.held.get(a)
        assert self.space.pool_of(a) is self.pool_of.get(a)

    @rule(box=boxes, flags=flag_sets)
    def count_free(self, box: Box, flags: frozenset[str]) -> None:
        expected = sum(1 for a in box.addresses() if self.model_free(a, flags))
        assert self.space.count_free(box, flags=flags) == expected

    @rule(box=st.one_of(st.none(), boxes))
    def free_boxes(self, box: Box | None) -> None:
        got = list(self.space.free_boxes(box))
        los = [b.lo for b in got]
        assert los == sorted(los), "not in lexicographic order"
        points = [a for b in got for a in b.addresses()]
        assert len(points) == len(set(points)), "free boxes overlap"
        expected = {a for a in ALL if self.model_free(a) and (box is None or a in box)}
        assert set(points) == expected

    # -------------------------------------------------------------- invariants

    @invariant()
    def check(self) -> None:
        self.space._check()

    @invariant()
    def totals(self) -> None:
        assert self.space.count_free() == sum(1 for a in self.pool_of if a not in self.held)
        assert {a for b, owner in self.space.reservations() for a in b.addresses()} == set(
            self.held
        )


AllocatorMachine.TestCase.settings = settings(stateful_step_count=50)
TestAllocator = AllocatorMachine.TestCase
