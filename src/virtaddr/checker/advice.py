"""Warnings: what libvirt accepts but is likely a mistake or a trap. None of them is an error."""

from __future__ import annotations

from lxml import etree

from virtaddr.checker.explicit import ExplicitPass
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import WARNING, Problem
from virtaddr.passes.defaults import controller_model
from virtaddr.passes.pci_buses import PciAddr, format_pci
from virtaddr.passes.pci_flags import INTEGRATED, PCI_DEVICE, PCIE_DEVICE

__all__ = ["advice", "hotplug_advice"]

_PCIE_PORTS = ("pcie-root-port", "pcie-switch-downstream-port")


def advice(explicit: ExplicitPass) -> list[Problem]:
    """Warnings about the explicit PCI addresses that ``explicit`` reserved."""
    out: list[Problem] = []
    domain = explicit.domain
    buses = explicit.pci_buses
    for dev, addr in explicit.pci_explicit:
        if dev.tag == "controller" or addr[1] >= buses.nbuses or _pinned(domain, dev, addr):
            continue
        flags = int(dev.pci_flags or PCI_DEVICE)
        bus = buses.buses[addr[1]]
        if flags & PCI_DEVICE and not flags & PCIE_DEVICE and bus.model in _PCIE_PORTS:
            out.append(
                _warn(
                    domain,
                    dev,
                    "pcie-port-conventional",
                    f"conventional PCI device on a PCI Express port ({bus.model} index "
                    f"{addr[1]}): libvirt accepts it but would put it behind a "
                    "pcie-to-pci-bridge",
                )
            )
        elif bus.model == "pcie-root" and not flags & INTEGRATED:
            out.append(
                _warn(
                    domain,
                    dev,
                    "pcie-root-endpoint",
                    f"device on pcie-root at {format_pci(addr)} is an integrated endpoint: it "
                    "cannot be hot-unplugged; libvirt would put it on a pcie-root-port",
                )
            )
        elif not buses.compatible_auto(flags, bus):
            out.append(
                _warn(
                    domain,
                    dev,
                    "unusual-bus",
                    f"libvirt would never place this device on {bus.model} index {addr[1]} "
                    f"({format_pci(addr)}) by itself",
                )
            )
    out.extend(_multifunction(explicit))
    return out


def _pinned(domain: Domain, dev: Device, addr: PciAddr) -> bool:
    """Places libvirt itself gives this device (the chipset's slots)."""
    q35 = domain.machine.is_q35
    videos = domain.lists["video"]
    if videos and dev is videos[0] and addr == ((0, 0, 1, 0) if q35 else (0, 0, 2, 0)):
        return True
    return q35 and dev.tag == "sound" and dev.get("model") == "ich9" and addr == (0, 0, 0x1B, 0)


def _multifunction(explicit: ExplicitPass) -> list[Problem]:
    domain = explicit.domain
    slots: dict[tuple[int, int, int], dict[int, Device]] = {}
    for dev, addr in explicit.pci_explicit:
        slots.setdefault(addr[:3], {})[addr[3]] = dev
    out: list[Problem] = []
    for slot, functions in slots.items():
        where = f"{slot[0]:04x}:{slot[1]:02x}:{slot[2]:02x}"
        first = functions[min(functions)]
        if 0 not in functions and explicit.pci_buses.is_free((*slot, 0)):
            out.append(
                _warn(
                    domain,
                    first,
                    "multifunction-no-function-0",
                    f"slot {where} has function {min(functions)} but no function 0: the guest "
                    "will not see the slot's devices",
                )
            )
        elif len(functions) > 1 and functions[0].addr.get("multifunction") == "off":
            out.append(
                _warn(
                    domain,
                    functions[0],
                    "multifunction-off",
                    f"multifunction='off' on function 0 of slot {where}, which has other "
                    "functions: QEMU will refuse to start the guest",
                )
            )
    return out


def hotplug_advice(assigned: etree._ElementTree, domain: Domain) -> list[Problem]:
    """q35: whether an empty pcie-root-port is left for a device hotplugged later."""
    if not domain.machine.is_q35:
        return []
    done = Domain(assigned, domain.source)
    for name in done.lists:
        for dev in done.lists[name]:
            dev.read_address()
    ports: dict[int, Device] = {}
    used: set[int] = set()
    for c in done.controllers("pci"):
        index = c.get("index")
        if controller_model(c) == "pcie-root-port" and index is not None and index.isdigit():
            ports[int(index)] = c
    for name in done.lists:
        for dev in done.lists[name]:
            if dev.pci is not None:
                used.add(dev.pci[1])
    if any(i not in used for i in ports):
        return []
    devices = domain.devices_elem
    line = devices.sourceline if devices is not None else None
    return [
        Problem(
            WARNING,
            "no empty pcie-root-port is left for hotplug: add "
            "<controller type='pci' model='pcie-root-port'/> to keep one free",
            line=line if isinstance(line, int) else None,
            device="devices",
            source=domain.source,
            code="q35-no-hotplug-port",
        )
    ]


def _warn(domain: Domain, dev: Device, code: str, message: str) -> Problem:
    return Problem(
        WARNING, message, line=dev.line, device=dev.describe(), source=domain.source, code=code
    )
