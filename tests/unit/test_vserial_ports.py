"""virtio-serial ports on the allocator: what ``assign`` and ``check`` both reserve through.

Expected values by hand: ports 1.. of each controller are for channels (port 0 is never
placed), libvirt's next port is the lowest free one, controllers in index order.
"""

from __future__ import annotations

import pytest

from virtaddr.errors import Collision
from virtaddr.passes.vserial import VirtioSerialPorts


def test_reserve_names_libvirts_problems() -> None:
    ports = VirtioSerialPorts({0: 3, 2: 0})
    assert ports.reserve(0, 1, "channel a") is None
    with pytest.raises(Collision) as caught:
        ports.reserve(0, 1, "channel b")
    assert caught.value.owner == "channel a"
    assert ports.reserve(0, 3, "x") == "virtio serial controller 0 does not have port 3"
    assert ports.reserve(2, 1, "x") == "virtio serial controller 2 does not have port 1"
    assert ports.reserve(1, 1, "x") == "virtio serial controller 1 is missing"
    too_big = "virtio serial controller 0 does not have port 4294967296"
    assert ports.reserve(0, 2**32, "x") == too_big


def test_lowest_free_port_from_one_in_controller_order() -> None:
    ports = VirtioSerialPorts({0: 3, 2: 0})
    ports.reserve(0, 1, "a")
    assert ports.lowest_free(0) == (0, 2) and ports.lowest_free(None) == (0, 2)
    ports.take(0, 2, "b")
    assert ports.lowest_free(None) is None and ports.lowest_free(2) is None
    ports.add_controller(1, 31)
    assert ports.lowest_free(None) == (1, 1)
    ports.space._check()
