"""Smartcard (ccid) and memory (dimm) slots, and machine-level controller checks."""

from __future__ import annotations

import contextlib
from typing import Any

from lxml import etree

from virtaddr.alloc.box import Box
from virtaddr.alloc.space import AddressSpace
from virtaddr.errors import Collision, InvalidAddress, OutOfPool
from virtaddr.kinds import ccid, dimm
from virtaddr.kinds.address_types import ADDRESS_TYPES
from virtaddr.kinds.attrs import UINT, UINT32_MAX
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.machine import PPC64_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import ensure_controllers
from virtaddr.passes.refusal import Refusal
from virtaddr.passes.versions import LibvirtRules
from virtaddr.xmldoc.names import local


def reserve_smartcards(domain: Domain) -> tuple[AddressSpace, list[Refusal]]:
    """The ccid space (one pool: every controller and slot libvirt reads) with each explicit
    smartcard address reserved, in device order, and the ones already taken."""
    space = AddressSpace(ccid.KIND)
    space.add_pool(ccid.KIND.bounds, name="ccid")
    refusals: list[Refusal] = []
    for card in domain.lists["smartcard"]:
        if card.addr_type != "ccid":
            continue
        key = (card.addr.get("controller", 0), card.addr.get("slot", 0))
        try:
            space.reserve(key, card)
        except Collision as exc:
            message = (
                "this QEMU binary lacks multiple smartcard support: ccid "
                f"controller='{key[0]}' slot='{key[1]}' is used twice"
            )
            refusals.append(Refusal(card, "ccid-collision", message, exc.owner))
        except InvalidAddress:
            pass  # past an unsigned int: nothing else can be there
    return space, refusals


#: The slots of controller 0 libvirt looks at for the highest one in use: it compares them as
#: a C ``int``, so a slot past ``INT_MAX`` counts as negative, below every other.
_CCID_SLOTS = Box([(0, 0), (0, 2**31 - 1)])


def assign_smartcards(domain: Domain) -> list[Problem]:
    """Smartcards without an address go to ccid controller 0, in the slot after the highest one
    taken there (libvirt's rule, not the first free one); controllers are added."""
    errors: list[Problem] = []
    cards = domain.lists["smartcard"]
    space: AddressSpace | None = None
    for card in cards:
        if card.addr_type not in (None, "ccid"):
            errors.append(card.error("Controllers must use the 'ccid' address type"))
            continue
        if card.addr_type is None:
            if space is None:
                space = reserve_smartcards(domain)[0]
            highest = max((b.hi[1] for b, _ in space.reservations(_CCID_SLOTS)), default=-1)
            with contextlib.suppress(Collision):  # a slot past INT_MAX held it: libvirt too
                space.reserve((0, highest + 1), card)
            card.set_address("ccid", {"controller": 0, "slot": highest + 1})
        ensure_controllers(domain, "ccid", [card.addr.get("controller", 0)], None)
    for card in cards:
        if card.addr_type == "ccid" and (
            card.addr.get("controller", 0),
            card.addr.get("slot", 0),
        ) != (0, 0):
            errors.append(card.error("this QEMU binary lacks multiple smartcard support"))
    return errors


def dimm_devices(domain: Domain) -> tuple[list[Device], int] | None:
    """The dimm and nvdimm memory devices and the ``<maxMemory slots>`` count, or ``None``
    without ``<maxMemory>``."""
    max_mem = domain._find(domain.root, "maxMemory")
    if max_mem is None:
        return None
    mems = [m for m in domain.lists["memory"] if m.get("model") in ("dimm", "nvdimm")]
    text = max_mem.get("slots", "0")
    return mems, int(text) if text.isdigit() else 0


def reserve_dimm_slots(mems: list[Device], nslots: int) -> tuple[AddressSpace, list[Refusal]]:
    """The slot space (one pool: ``0 .. nslots - 1``) with each explicit dimm slot reserved, in
    device order, and what it refused: a slot past the count, a slot already taken."""
    space = AddressSpace(dimm.KIND)
    hi = dimm.KIND.fields[0].hi
    if nslots > 0:
        space.add_pool([(0, min(nslots - 1, hi))], name="memory slots")
    refusals: list[Refusal] = []
    for m in mems:
        if m.addr_type != "dimm":
            continue
        slot = m.addr.get("slot", 0)
        try:
            space.reserve((slot,), m)
        except Collision as exc:
            message = f"memory device slot '{slot}' is already being used by another memory device"
            refusals.append(Refusal(m, "dimm-collision", message, exc.owner))
        except (OutOfPool, InvalidAddress):
            message = f"memory device slot '{slot}' exceeds slots count '{nslots}'"
            refusals.append(Refusal(m, "dimm-range", message))
    return space, refusals


def assign_dimm_slots(
    domain: Domain, mem_on_ccw: bool = False, rules: LibvirtRules | None = None
) -> list[Problem]:
    """dimm/nvdimm memory devices get the lowest free slot below <maxMemory slots>.

    ``mem_on_ccw``: a virtio-mem device may have a CCW address (libvirt 11.3). ``rules``: the
    version's memory hotplug validation (see :func:`_memory_hotplug_errors`; none when None).
    """
    max_mem = domain._find(domain.root, "maxMemory")
    found = dimm_devices(domain)
    if found is None or not found[0]:
        return _memory_hotplug_errors(domain, max_mem, mem_on_ccw, rules)
    mems, nslots = found
    space, refusals = reserve_dimm_slots(mems, nslots)
    errors = [r.device.error(r.message) for r in refusals]
    for m in mems:
        if m.addr_type == "dimm":
            continue
        free = space.try_reserve_first(None, m)
        if free is None:
            errors.append(m.error("failed to find an empty memory slot"))
            break
        base = _union_base(m.addr_type, m.addr) if m.addr_type is not None else 0
        m.set_address("dimm", {"slot": free[0], "base": base} if base else {"slot": free[0]})
    return errors or _memory_hotplug_errors(domain, max_mem, mem_on_ccw, rules)


def _memory_hotplug_errors(
    domain: Domain,
    max_mem: etree._Element | None,
    mem_on_ccw: bool = False,
    rules: LibvirtRules | None = None,
) -> list[Problem]:
    """QEMU's domain validation of memory devices, after every address is assigned: none at all
    without ``<maxMemory>``; with it (libvirt 9.0) a slot count, a NUMA node, on all but ppc64,
    and every memory device counted against the slots; a virtio-pmem or virtio-mem device only
    at a PCI address."""
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
        count = len(domain.lists["memory"])  # sgx-epc too
        if count > int(slots_text):
            message = f"memory device count '{count}' exceeds slots count '{slots_text}'"
            return [domain.error(message)]
    for m in mems:
        model = m.get("model")
        ccw = mem_on_ccw and model == "virtio-mem"
        allowed = (None, "pci", "ccw") if ccw else (None, "pci")
        if model in ("virtio-pmem", "virtio-mem") and m.addr_type not in allowed:
            kinds = "'pci' and 'ccw' addresses are" if ccw else "'pci' addresses are"
            return [m.error(f"only {kinds} supported for the {model} device")]
    return []


def _union_base(atype: str, addr: dict[str, Any]) -> int:
    """The ``base`` a dimm with an address of another type ends up with: libvirt only switches
    the address type, so base (the 64 bits from byte 8 of its address union) keeps that address's
    3rd and 4th 32-bit fields, in the order the address type declares them (a USB address: the
    2nd and 3rd levels of its port path)."""
    if atype == "usb":
        words = [addr.get("bus", 0), *addr.get("port", ()), 0, 0, 0]
    else:
        spec = ADDRESS_TYPES.get(atype)
        attrs = () if spec is None else spec.attrs
        words = [addr.get(a.name, 0) for a in attrs if a.value == UINT and a.hi <= UINT32_MAX]
        words += [0, 0, 0, 0]
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
