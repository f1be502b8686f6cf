"""Smartcard (ccid) and memory (dimm) slots, and machine-level controller checks."""

from __future__ import annotations

from typing import Any

from lxml import etree

from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.machine import PPC64_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import ensure_controllers
from virtaddr.passes.versions import LibvirtRules
from virtaddr.xmldoc.names import local


def assign_smartcards(domain: Domain) -> list[Problem]:
    """Smartcards without an address go to ccid controller 0, next slot; controllers are added."""
    errors: list[Problem] = []
    cards = domain.lists["smartcard"]
    for card in cards:
        if card.addr_type not in (None, "ccid"):
            errors.append(card.error("Controllers must use the 'ccid' address type"))
            continue
        if card.addr_type is None:
            slots = [
                c.addr.get("slot", 0)
                for c in cards
                if c.addr_type == "ccid" and c.addr.get("controller", 0) == 0
            ]
            card.set_address("ccid", {"controller": 0, "slot": max(slots, default=-1) + 1})
        ensure_controllers(domain, "ccid", [card.addr.get("controller", 0)], None)
    for card in cards:
        if card.addr_type == "ccid" and (
            card.addr.get("controller", 0),
            card.addr.get("slot", 0),
        ) != (0, 0):
            errors.append(card.error("this QEMU binary lacks multiple smartcard support"))
    return errors


def assign_dimm_slots(
    domain: Domain, mem_on_ccw: bool = False, rules: LibvirtRules | None = None
) -> list[Problem]:
    """dimm/nvdimm memory devices get the lowest free slot below <maxMemory slots>.

    ``mem_on_ccw``: a virtio-mem device may have a CCW address (libvirt 11.3). ``rules``: the
    version's memory hotplug validation (see :func:`_memory_hotplug_errors`; none when None).
    """
    max_mem = domain._find(domain.root, "maxMemory")
    mems = [m for m in domain.lists["memory"] if m.get("model") in ("dimm", "nvdimm")]
    if max_mem is None or not mems:
        return _memory_hotplug_errors(domain, max_mem, mem_on_ccw, rules)
    slots_text = max_mem.get("slots", "0")
    nslots = int(slots_text) if slots_text.isdigit() else 0
    errors: list[Problem] = []
    used: set[int] = set()
    for m in mems:
        if m.addr_type == "dimm":
            slot = m.addr.get("slot", 0)
            if slot >= nslots:
                errors.append(
                    m.error(f"memory device slot '{slot}' exceeds slots count '{nslots}'")
                )
            elif slot in used:
                errors.append(
                    m.error(
                        f"memory device slot '{slot}' is already being used "
                        "by another memory device"
                    )
                )
            used.add(slot)
    for m in mems:
        if m.addr_type == "dimm":
            continue
        free = next((s for s in range(nslots) if s not in used), None)
        if free is None:
            errors.append(m.error("failed to find an empty memory slot"))
            break
        used.add(free)
        base = _union_base(m.addr_type, m.addr) if m.addr_type is not None else 0
        m.set_address("dimm", {"slot": free, "base": base} if base else {"slot": free})
    return errors or _memory_hotplug_errors(domain, max_mem, mem_on_ccw, rules)


def _memory_hotplug_errors(
    domain: Domain,
    max_mem: etree._Element | None,
    mem_on_ccw: bool = False,
    rules: LibvirtRules | None = None,
) -> list[Problem]:
    """QEMU's domain validation of memory devices, after every address is assigned: none at all
    without ``<maxMemory>``; with it (libvirt 9.0) a NUMA node, on all but ppc64, and every
    memory device counted against the slots; a virtio-pmem or virtio-mem device only at a PCI
    address."""
    mems = [m for m in domain.lists["memory"] if m.get("model") != "sgx-epc"]
    if mems and max_mem is None:
        message = "cannot use/hotplug a memory device when domain 'maxMemory' is not defined"
        return [mems[0].error(message)]
    if max_mem is not None and rules is not None and rules.memory_hotplug_checks_numa_and_count:
        slots_text = max_mem.get("slots", "0")
        if not slots_text.isdigit() or int(slots_text) == 0:  # a post-parse check of 9.0
            return [
                domain.error("both maximum memory size and memory slot count must be specified")
            ]
        if (
            domain.machine.arch not in PPC64_ARCHES
            and domain._find(domain.root, "cpu", "numa", "cell") is None
        ):
            message = "At least one numa node has to be configured when enabling memory hotplug"
            return [domain.error(message)]
        slots_text = max_mem.get("slots", "0")
        nslots = int(slots_text) if slots_text.isdigit() else 0
        count = len(domain.lists["memory"])  # sgx-epc too
        if count > nslots:
            message = f"memory device count '{count}' exceeds slots count '{nslots}'"
            return [domain.error(message)]
    for m in mems:
        model = m.get("model")
        allowed = (None, "pci", "ccw") if mem_on_ccw and model == "virtio-mem" else (None, "pci")
        if model in ("virtio-pmem", "virtio-mem") and m.addr_type not in allowed:
            return [m.error(f"only 'pci' addresses are supported for the {model} device")]
    return []


# The 32-bit fields of other address types, in libvirt's structs (its address union).
_UNION_FIELDS = {
    "pci": ("domain", "bus", "slot", "function"),
    "drive": ("controller", "bus", "target", "unit"),
    "virtio-serial": ("controller", "bus", "port"),
    "isa": ("iobase", "irq"),
}


def _union_base(atype: str, addr: dict[str, Any]) -> int:
    """The ``base`` a dimm with an address of another type ends up with: libvirt only switches
    the address type, so base (the 64 bits from byte 8 of the union) keeps that address's 3rd and
    4th fields (a USB address: the 2nd and 3rd levels of its port path)."""
    if atype == "usb":
        words = [addr.get("bus", 0), *addr.get("port", ()), 0, 0, 0]
    else:
        words = [addr.get(f, 0) for f in _UNION_FIELDS.get(atype, ())] + [0, 0, 0, 0]
    return int(words[2]) | int(words[3]) << 32


def console_follows_serial(domain: Domain) -> list[Problem]:
    """The first console of the input, when it is the copy of serial 0, shows serial 0's
    address as libvirt stores it (a usb-serial's USB port, a pci-serial's PCI address). One
    that only virtaddr adds (libvirt's parse-time copy on other architectures) is left alone:
    libvirt does not store it."""
    console = domain.compat_console()
    serials = domain.lists["serial"]
    if (
        console is not None
        and not console.is_new
        and serials
        and serials[0].addr_type is not None
        and (console.addr_type, console.addr) != (serials[0].addr_type, serials[0].addr)
    ):
        console.set_address(serials[0].addr_type, dict(serials[0].addr))
    return []


def check_machine_type(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """A machine type the version's QEMU no longer has (rule 8): refused at validation."""
    machine = domain.machine.name
    if machine not in rules.dropped_machines:
        return []
    emulator = f"/usr/bin/qemu-system-{domain.machine.arch}"
    for el in domain.devices_elem if domain.devices_elem is not None else ():
        if isinstance(el.tag, str) and local(el.tag) == "emulator" and el.text:
            emulator = el.text.strip()
    return [domain.error(f"Emulator '{emulator}' does not support machine type '{machine}'")]


def check_machine_controllers(domain: Domain) -> list[Problem]:
    errors: list[Problem] = []
    ides = domain.controllers("ide")
    if ides and not domain.machine.has_builtin_ide:
        errors.append(
            ides[0].error("IDE controllers are unsupported for this QEMU binary or machine type")
        )
    elif len(ides) > 1 or any(c.index != 0 for c in ides):
        bad = next(c for c in ides if c.index != 0) if any(c.index != 0 for c in ides) else ides[1]
        errors.append(bad.error("Only a single IDE controller is supported for this machine type"))
    return errors


def check_zpci(domain: Domain) -> list[Problem]:
    """Only s390 QEMU has zPCI: elsewhere a ``<zpci>`` inside a PCI address is refused."""
    if domain.machine.family == "s390-ccw":
        return []
    for d in domain.walk():
        if d.addr_type == "pci":
            el = d.child("address")
            if el is not None and any(local(c.tag) == "zpci" for c in el):
                return [d.error("This QEMU binary doesn't support zPCI")]
    return []
