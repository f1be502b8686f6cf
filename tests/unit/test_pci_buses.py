"""The PCI bus set: libvirt's next-address search and the errors of exact reservations.

Expected values are worked out by hand from libvirt's rules (virDomainPCIAddressGetNextAddr):
the first compatible bus in index order, on it the first slot with no function in use, or for
a device that may share an aggregate slot (a pcie-root-port) a free function of such a slot.
"""

from __future__ import annotations

import pytest

from virtaddr.errors import Collision, InvalidAddress, OutOfPool
from virtaddr.passes.pci_buses import PciBusSet
from virtaddr.passes.pci_flags import AGGREGATE_SLOT, AUTOASSIGN, PCI_DEVICE, PCIE_DEVICE, ROOT_PORT

PCIE = PCIE_DEVICE | AUTOASSIGN
PORT = ROOT_PORT | AGGREGATE_SLOT


def q35(ports: int = 0) -> PciBusSet:
    buses = PciBusSet()
    buses.add_bus("pcie-root")
    for _ in range(ports):
        buses.add_bus("pcie-root-port")
    return buses


def test_pcie_devices_take_the_root_ports_in_index_order_then_none_is_left() -> None:
    buses = q35(ports=2)
    found = []
    for n in range(2):
        addr = buses.find_free(PCIE)
        assert addr is not None
        buses.reserve(addr, PCIE, f"disk {n}")
        found.append(addr)
    assert found == [(0, 1, 0, 0), (0, 2, 0, 0)]
    assert buses.find_free(PCIE) is None  # pcie-root itself takes no automatic placement
    buses.add_bus("pcie-root-port")  # a bus added later is still found after full ones
    assert buses.find_free(PCIE) == (0, 3, 0, 0)


def test_root_ports_share_an_aggregate_slot_function_by_function() -> None:
    buses = q35()
    assert buses.find_free(PORT) == (0, 0, 1, 0)  # pcie-root: slots 1..31
    buses.reserve((0, 0, 1, 0), PORT, "port 1")
    assert buses.find_free(PORT) == (0, 0, 1, 1)  # the next function of the same slot
    assert buses.find_free(PORT, function=0) == (0, 0, 2, 0)  # function 0 is taken there
    assert buses.find_free(ROOT_PORT) == (0, 0, 2, 0)  # no sharing without AGGREGATE_SLOT
    for f in range(1, 8):
        buses.reserve((0, 0, 1, f), PORT, f"port {f + 1}")
    assert buses.find_free(PORT) == (0, 0, 2, 0)  # slot 1 is full
    assert buses.slot_used(0, 1) and not buses.slot_used(0, 2)
    assert not buses.is_free((0, 0, 1, 7)) and buses.is_free((0, 0, 2, 3))


def test_a_slot_first_used_by_a_plain_device_is_not_shared() -> None:
    buses = PciBusSet()
    buses.add_bus("pci-root")  # slots 1..31
    buses.reserve((0, 0, 1, 0), PCI_DEVICE, "nic")
    assert buses.find_free(PCI_DEVICE | AUTOASSIGN | AGGREGATE_SLOT) == (0, 0, 2, 0)


def test_a_second_use_names_the_owner_and_gives_libvirts_message() -> None:
    buses = q35()
    buses.reserve((0, 0, 0x1F, 0), PCI_DEVICE, "chipset")
    with pytest.raises(Collision) as caught:
        buses.reserve((0, 0, 0x1F, 0), PCI_DEVICE, "sata")
    assert caught.value.owner == "chipset"
    assert buses.owner((0, 0, 0x1F, 0)) == "chipset"
    assert buses.reserve_at((0, 0, 0x1F, 0), PCI_DEVICE, "sata") == (
        "Attempted double use of PCI Address 0000:00:1f.0"
    )


def test_addresses_off_the_buses_are_out_of_pool_and_bad_values_invalid() -> None:
    buses = q35(ports=1)
    with pytest.raises(OutOfPool, match=r"0000:00:00\.0 is in no pool"):
        buses.reserve((0, 0, 0, 0), PCI_DEVICE, "x")  # pcie-root has no slot 0
    with pytest.raises(OutOfPool, match=r"0000:01:01\.0 is in no pool"):
        buses.reserve((0, 1, 1, 0), PCIE_DEVICE, "x")  # a root port has only slot 0
    with pytest.raises(OutOfPool, match=r"0000:02:00\.0 is in no pool"):
        buses.reserve((0, 2, 0, 0), PCIE_DEVICE, "x")  # no bus 2
    with pytest.raises(InvalidAddress, match="function=8"):
        buses.reserve((0, 1, 0, 8), PCIE_DEVICE, "x")
    assert buses.fully_used() is False
