"""AddressSpace: the proposal's examples, errors that name what they concern, blocks, counts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from virtaddr.alloc import AddressKind, AddressSpace, Box, Field, Pool, Request
from virtaddr.errors import (
    AllocatorError,
    Collision,
    Exhausted,
    InvalidAddress,
    NotReserved,
    OutOfPool,
    PoolOverlap,
)
from virtaddr.kinds import ip, pci


def three_dims() -> AddressSpace:
    return AddressSpace.from_dims(("bus", 0, 1), ("slot", 0, 31), ("function", 0, 7))


def test_proposal_worked_example() -> None:
    space = three_dims()
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    assert [str(b) for b in space.free_boxes()] == ["{0..1}{0..31}{0..7}"]
    space.reserve((0, 13, 2), owner="0:13.2")
    assert [str(b) for b in space.free_boxes()] == [
        "{0..0}{0..12}{0..7}",
        "{0..0}{13..13}{0..1}",
        "{0..0}{13..13}{3..7}",
        "{0..0}{14..31}{0..7}",
        "{1..1}{0..31}{0..7}",
    ]
    assert space.count_free() == 511
    space._check()


def test_proposal_ip_example() -> None:
    space = AddressSpace(ip.IPV4)
    space.add_pool(ip.cidr_box("192.168.1.0/24"), name="lan")
    space.reserve(ip.parse_ipv4("192.168.1.254"), owner="router")
    request = ip.range_box("192.168.1.2", "192.168.1.240")
    got = [space.reserve_first(request, owner=f"computer {n}") for n in range(1, 240)]
    assert [ip.format_ipv4(a) for a in got[:3]] == ["192.168.1.2", "192.168.1.3", "192.168.1.4"]
    assert ip.format_ipv4(got[-1]) == "192.168.1.240"
    with pytest.raises(Exhausted) as e:
        space.reserve_first(request, owner="computer 240")
    assert "192.168.1.2–192.168.1.240" in str(e.value)
    assert space.owner(ip.parse_ipv4("192.168.1.254")) == "router"
    assert space.count_free() == 256 - 240
    space._check()


def test_proposal_example_lines() -> None:
    lines = ip.proposal_example()
    assert "192.168.1.254" in lines[1]
    assert lines[2].endswith("192.168.1.2")
    assert any(line.endswith("192.168.1.240") for line in lines)
    assert "computer 240" in lines[-2] and "Exhausted" in lines[-2]


def test_pci_api_as_the_pass_uses_it() -> None:
    space = AddressSpace(pci.KIND)
    bus = object()
    pool = space.add_pool([(0, 0), (1, 1), (1, 31), (0, 7)], flags={"pci"}, name="bus 1", data=bus)
    assert (pool.name, pool.flags, pool.data) == ("bus 1", frozenset({"pci"}), bus)
    assert pool.box == Box([(0, 0), (1, 1), (1, 31), (0, 7)])
    assert space.reserve((0, 1, 3, 0), owner="disk vda") == (0, 1, 3, 0)
    assert space.reserve_first(pci.KIND.request(bus=1, function=0), "nic") == (0, 1, 1, 0)
    assert space.reserve_first(Request.of(0, 1, None, 0), "nic2", flags={"pci"}) == (0, 1, 2, 0)
    assert space.first_free((None, None, (3, 3), None)) == (0, 1, 3, 1)
    assert space.pool_of((0, 1, 5, 0)) is pool and space.pool_of((0, 2, 5, 0)) is None
    assert space.pools == [pool]
    assert not space.is_free((0, 1, 3, 0)) and space.is_free((0, 1, 3, 1))
    assert not space.is_free((0, 1, 0, 0))  # in no pool
    assert space.count_free(pci.slot_box(0, 1, 3)) == 7
    space._check()


def test_collision_names_the_owner() -> None:
    space = AddressSpace(pci.KIND)
    space.add_pool([(0, 0), (0, 0), (0, 31), (0, 7)])
    space.reserve((0, 0, 3, 0), owner="disk vda")
    with pytest.raises(Collision) as e:
        space.reserve((0, 0, 3, 0), owner="disk vdb")
    assert e.value.owner == "disk vda" and e.value.address == (0, 0, 3, 0)
    assert "0000:00:03.0" in str(e.value) and "disk vda" in str(e.value)
    assert isinstance(e.value, KeyError) and isinstance(e.value, AllocatorError)


def test_overlap_names_both_pools() -> None:
    space = three_dims()
    space.add_pool([(0, 0), (0, 31), (0, 7)], name="bus 0")
    space.add_pool([(1, 1), (0, 15), (0, 7)], name="bus 1 low")
    with pytest.raises(PoolOverlap) as e:
        space.add_pool([(1, 1), (8, 31), (0, 7)], name="bus 1 high")
    assert "bus 1 high" in str(e.value) and "bus 1 low" in str(e.value)
    assert "{1..1}{8..15}{0..7}" in str(e.value)
    assert len(space.pools) == 2
    space._check()


def test_flags_filter_pools() -> None:
    space = three_dims()
    plain = space.add_pool([(0, 0), (0, 31), (0, 7)], flags={"pci"}, name="plain")
    hot = space.add_pool([(1, 1), (0, 31), (0, 7)], flags={"pci", "hotplug"}, name="hot")
    assert space.first_free(None) == (0, 0, 0)
    assert space.first_free(None, flags={"hotplug"}) == (1, 0, 0)
    assert space.first_free(None, flags={"pci", "hotplug"}) == (1, 0, 0)
    assert space.first_free(None, flags={"pcie"}) is None
    assert space.first_free(None, pools=[hot]) == (1, 0, 0)
    assert space.first_free(None, pools=[plain], flags={"hotplug"}) is None
    assert space.count_free(flags={"hotplug"}) == 256
    with pytest.raises(Exhausted) as e:
        space.reserve_first((0, None, None), "x", flags={"hotplug"})
    assert "hotplug" in str(e.value) and "bus=0" in str(e.value)
    assert space.reserve_any("y", flags={"hotplug"}) == (1, 0, 0)


def test_first_is_lexicographic_across_pools() -> None:
    space = AddressSpace.from_dims(("a", 0, 3), ("b", 0, 9))
    space.add_pool([(0, 3), (5, 9)], name="right")  # inserted first, its first point is later
    space.add_pool([(0, 3), (0, 4)], name="left")
    assert space.first_free((None, None)) == (0, 0)
    assert space.first_free((None, (4, 9))) == (0, 4)
    assert space.first_free(((1, 3), (4, 5))) == (1, 4)
    assert [p.name for p in space.pools] == ["right", "left"]
    assert [str(b) for b in space.free_boxes()] == ["{0..3}{0..4}", "{0..3}{5..9}"]


def test_block_is_all_or_nothing() -> None:
    space = AddressSpace(pci.KIND)
    space.add_pool([(0, 0), (0, 0), (0, 31), (0, 7)], name="bus 0")
    space.reserve((0, 0, 4, 5), owner="nic")
    before = list(space.free_boxes())
    with pytest.raises(Collision) as e:
        space.reserve_block(pci.slot_box(0, 0, 4), owner="gpu")
    assert e.value.address == (0, 0, 4, 5) and e.value.owner == "nic"
    with pytest.raises(OutOfPool):
        space.reserve_block([(0, 0), (0, 1), (4, 4), (0, 7)], owner="gpu")
    assert list(space.free_boxes()) == before
    block = space.reserve_block(pci.slot_box(0, 0, 5), owner="gpu")
    assert space.count_free(block) == 0
    assert [(str(b), o) for b, o in space.reservations()] == [
        ("{0..0}{0..0}{4..4}{5..5}", "nic"),
        ("{0..0}{0..0}{5..5}{0..7}", "gpu"),  # one entry for the whole block
    ]
    space.release_block(block)
    assert list(space.free_boxes()) == before
    space._check()


def test_block_across_pools() -> None:
    space = three_dims()
    space.add_pool([(0, 0), (0, 31), (0, 7)])
    space.add_pool([(1, 1), (0, 31), (0, 7)])
    space.reserve_block([(0, 1), (3, 3), (0, 7)], "both")
    assert space.count_free() == 512 - 16
    with pytest.raises(NotReserved):
        space.release_block([(0, 1), (3, 4), (0, 7)])
    assert space.count_free() == 512 - 16
    space.release_block([(0, 1), (3, 3), (0, 7)])
    assert space.count_free() == 512
    space._check()


def test_release_then_reserve_again() -> None:
    space = three_dims()
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    a = space.reserve_any("first")
    assert space.release(a) == "first"
    assert space.is_free(a) and space.owner(a) is None
    assert space.reserve_any("second") == a
    assert space.owner(a) == "second"


def test_release_inside_a_block_splits_it() -> None:
    space = three_dims()
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    space.reserve_block([(0, 0), (2, 2), (0, 7)], "multi")
    assert space.release((0, 2, 3)) == "multi"
    assert space.owner((0, 2, 2)) == "multi" and space.owner((0, 2, 4)) == "multi"
    assert space.first_free(None) == (0, 0, 0)
    assert space.first_free((0, 2, None)) == (0, 2, 3)
    space._check()


def test_not_reserved_is_never_silent() -> None:
    space = three_dims()
    space.add_pool([(0, 0), (0, 31), (0, 7)])
    with pytest.raises(NotReserved) as e:
        space.release((0, 1, 1))
    assert "free" in str(e.value)
    with pytest.raises(NotReserved) as e:
        space.release((1, 1, 1))
    assert "no pool" in str(e.value)
    space.reserve((0, 1, 1), "x")
    space.release((0, 1, 1))
    with pytest.raises(NotReserved):
        space.release((0, 1, 1))


def test_out_of_pool() -> None:
    space = three_dims()
    space.add_pool([(0, 0), (0, 31), (0, 7)])
    with pytest.raises(OutOfPool) as e:
        space.reserve((1, 0, 0), "x")
    assert "no pool" in str(e.value)


@pytest.mark.parametrize(
    "address", [(0, 0), (0, 0, 0, 0), (2, 0, 0), (0, 32, 0), (0, -1, 0), (0, 0, 1.0), (True, 0, 0)]
)
def test_bounds_and_shape_errors(address: tuple[object, ...]) -> None:
    space = three_dims()
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    with pytest.raises(InvalidAddress):
        space.reserve(address, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidAddress):
        space.is_free(address)  # type: ignore[arg-type]
    with pytest.raises(InvalidAddress):
        space.release(address)  # type: ignore[arg-type]
    with pytest.raises(InvalidAddress):
        space.owner(address)  # type: ignore[arg-type]


def test_bad_pools_and_requests() -> None:
    space = three_dims()
    with pytest.raises(InvalidAddress):
        space.add_pool([(0, 2), (0, 31), (0, 7)])  # past the bounds
    with pytest.raises(InvalidAddress):
        space.add_pool([(0, 1), (0, 31)])  # a dimension short
    with pytest.raises(InvalidAddress):
        space.add_pool([(1, 0), (0, 31), (0, 7)])  # empty range
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    for request in [(0, None), (0, None, 8), (0, (3, 40), None), (0, "a", None)]:
        with pytest.raises(InvalidAddress):
            space.first_free(request)  # type: ignore[arg-type]


def test_exact_ipv6_counts() -> None:
    space = AddressSpace(ip.IPV6)
    net = space.add_pool(ip.cidr_box("2001:db8::/64"), name="lan6")
    space.add_pool(ip.cidr_box("2001:db8:1::/48"))
    assert space.count_free() == 2**64 + 2**80
    first = space.reserve_any("gw")
    assert ip.format_ipv6(first) == "2001:db8::"
    space.reserve(ip.parse_ipv6("2001:db8::7fff:ffff:ffff:ffff"), "last of the lower half")
    space.reserve_block(ip.cidr_box("2001:db8:0:0:8000::/65"), "upper half")
    assert space.count_free(net.box) == 2**63 - 2
    assert space.count_free() == 2**63 - 2 + 2**80
    assert space.count_free(ip.cidr_box("2001:db8::/63")) == 2**63 - 2  # half of it in no pool
    with pytest.raises(Collision) as e:
        space.reserve_block(ip.cidr_box("2001:db8::/64"), "all")
    assert e.value.owner == "gw"
    assert space.pool_of(ip.parse_ipv6("2001:db8:1:2::3")) is space.pools[1]
    space._check()


def test_count_free_of_a_scattered_box() -> None:
    space = three_dims()
    space.add_pool([(0, 1), (0, 31), (0, 7)])
    for slot in range(0, 32, 2):
        space.reserve((0, slot, 3), "x")
    column = Box([(0, 1), (0, 31), (3, 3)])  # function 3 of every slot: not one run
    assert space.count_free(column) == 64 - 16
    assert space.count_free([(0, 0), (0, 31), (2, 4)]) == 96 - 16
    assert [str(b) for b in space.free_boxes([(0, 0), (0, 1), (3, 3)])] == ["{0..0}{1..1}{3..3}"]


def test_kind_without_formatter_describes_fields() -> None:
    kind = AddressKind("drive", (Field("controller", 0, 3), Field("unit", 0, 1)))
    space = AddressSpace(kind)
    space.add_pool([(0, 0), (0, 1)])
    space.reserve_any("a")
    space.reserve_any("b")
    with pytest.raises(Exhausted) as e:
        space.reserve_any("c")
    assert str(e.value) == "no free drive address in controller=* unit=*"
    with pytest.raises(Collision) as c:
        space.reserve((0, 1), "d")
    assert "controller=0 unit=1" in str(c.value) and "'b'" in str(c.value)


def test_many_pools_stay_fast_and_consistent() -> None:
    space = AddressSpace(pci.KIND)
    pools = [
        space.add_pool([(0, 0), (b, b), (0, 31), (0, 7)], flags={"pci"}, name=f"bus {b}")
        for b in range(256)
    ]
    for b in (0, 17, 255):
        assert space.pool_of((0, b, 31, 7)) is pools[b]
    for _ in range(300):
        space.reserve_first((0, None, None, 0), "dev")
    assert space.first_free((0, None, None, 0)) == (0, 9, 12, 0)
    space._check()


def test_importing_the_core_loads_no_lxml() -> None:
    code = (
        "import sys, virtaddr.alloc, virtaddr.kinds\n"
        "from virtaddr.kinds import pci, drive, virtio_serial, usb, ccid, dimm, ip, disk_names\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('lxml', 'xmlschema')], "
        "sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pool_is_a_value_with_identity() -> None:
    space = three_dims()
    a = space.add_pool([(0, 0), (0, 31), (0, 7)], name="a", data={"unhashable": []})
    assert isinstance(a, Pool) and a != Pool("a", a.box, a.flags, a.data)
    assert str(a) == "a {0..0}{0..31}{0..7}"
    with pytest.raises(AttributeError):
        a.name = "b"  # type: ignore[misc]


def test_a_prepared_search_resumes_and_follows_the_space() -> None:
    # Worked by hand: buses 0 and 1, slots 0..3; whole slots (whole=1), slot 1 of bus 0 taken.
    space = AddressSpace.from_dims(("bus", 0, 7), ("slot", 0, 3), ("function", 0, 1))
    space.add_pools_along([(0, 0), (0, 3), (0, 1)], 0, [0, 1], flags={"pci"})
    space.reserve((0, 1, 1), "nic")
    slot = space.search((None, None, None), {"pci"}, whole=1)
    assert slot.first() == (0, 0, 0) and slot.first() == (0, 0, 0)  # first() takes nothing
    assert slot.take("a") == (0, 0, 0)
    assert slot.take("b") == (0, 2, 0)  # slot 1 is not wholly free
    pool, x = slot.take_index("c")  # type: ignore[misc]
    assert (pool.lo[0], x, pool.decode(x)) == (0, 6, (0, 3, 0))
    assert slot.take("d") == (1, 0, 0)  # bus 0 has no whole slot left
    space.release((0, 2, 0))  # the search goes back to bus 0
    assert slot.take("e") == (0, 2, 0)
    space.add_pool([(2, 2), (0, 0), (0, 1)], flags={"pci"})  # after the last pool
    for _ in range(3):
        slot.take("f")
    assert slot.take("g") == (2, 0, 0) and slot.take("h") is None
    assert space.search(None, {"nope"}).first() is None
    space._check()


def test_a_prepared_search_survives_the_space_dropping_its_finger() -> None:
    space = AddressSpace.from_dims(("a", 0, 99), ("b", 0, 9))
    space.add_pool([(0, 99), (0, 9)])
    odd = space.search((None, (1, 1)))
    assert odd.take("x") == (0, 1)
    for i in range(40):  # more requests than the space keeps fingers for
        space.first_free(((i, 99), None))
    space.release((0, 1))
    assert odd.take("y") == (0, 1) and odd.take("z") == (1, 1)
    space._check()


def test_a_shared_search_opens_the_block_it_starts() -> None:
    # libvirt's aggregate slots: the first root port takes a whole slot and opens it to the
    # others; a plain device never shares it.
    space = AddressSpace(pci.KIND)
    space.add_pool([(0, 0), (0, 0), (1, 31), (0, 7)], flags={"pcie-root"})
    ports = space.search((0, 0, None, None), whole=1, share="aggregate")
    plain = space.search((0, 0, None, None), whole=1)
    assert [ports.take(f"port {i}") for i in range(3)] == [(0, 0, 1, 0), (0, 0, 1, 1), (0, 0, 1, 2)]
    assert plain.take("nic") == (0, 0, 2, 0)
    assert ports.take("port 3") == (0, 0, 1, 3)
    assert space.is_open((0, 0, 1, 7), "aggregate") and not space.is_open((0, 0, 2, 1), "aggregate")
    space._check()


def test_take_by_linear_index() -> None:
    space = three_dims()
    pool = space.add_pool([(0, 0), (0, 31), (0, 7)], name="bus 0")
    x = pool.encode((0, 3, 0))
    assert x == 24 and pool.is_free_at(x)
    assert space.take(pool, x, "root port", whole=1, share="aggregate")
    assert not space.take(pool, x, "again") and space.owner((0, 3, 0)) == "root port"
    assert space.is_open((0, 3, 5), "aggregate")
    assert pool.take(x + 1, "port 2") and not pool.is_free_at(x + 1)
    assert not pool.take(-1, "x") and not pool.take(pool.size, "x")
    assert not pool.is_free_at(-1) and not pool.is_free_at(pool.size)
    other = three_dims().add_pool([(0, 0), (0, 0), (0, 0)])
    with pytest.raises(ValueError, match="not a pool of"):
        space.take(other, 0, "x")
    space._check()


def test_a_row_adds_pools_of_one_shape() -> None:
    space = AddressSpace(pci.KIND)
    ports = space.row([(0, 0), (0, 0), (0, 0), (0, 7)], 1, flags={"pcie"})
    first, second = ports.add(1, data="port 1"), ports.add(2)
    assert first.box == Box([(0, 0), (1, 1), (0, 0), (0, 7)]) and first.data == "port 1"
    assert second.flags == frozenset({"pcie"}) and second.shape is first.shape
    with pytest.raises(PoolOverlap):
        ports.add(1)
    with pytest.raises(InvalidAddress, match="256"):
        ports.add(256)
    assert space.reserve_first(None, "disk", flags={"pcie"}) == (0, 1, 0, 0)
    assert space.search(None, flags={"pcie"}, whole=1).take("disk 2") == (0, 2, 0, 0)
    space._check()
