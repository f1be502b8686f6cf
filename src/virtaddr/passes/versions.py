"""What differs between the libvirt versions virtaddr reproduces: one set of rules per version.

The stages of :mod:`.pipeline` read a :class:`LibvirtRules` from their run and never compare
versions themselves, so adding a libvirt version is one new :class:`LibvirtRules` in
:data:`RULES` (with its corpus and tests). Each switch names the behaviour it selects; the
measured differences between 9.0.0 and 11.3.0, with minimal inputs and both daemons' answers,
are in ``../shared/docs/libvirt-11.3-differences.md`` (rule N there).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from virtaddr.libvirt.attrs import NO_ADDRESS_TYPE

__all__ = [
    "DEFAULT",
    "LIBVIRT_9_0",
    "LIBVIRT_11_3",
    "RULES",
    "VERSIONS",
    "LibvirtRules",
    "rules_for",
    "rules_for_host",
]


class LibvirtRules(NamedTuple):
    """The behaviour of one libvirt version (with the QEMU it was measured with).

    A named tuple rather than a frozen dataclass: every ``virtaddr assign`` loads it, and the
    dataclasses module costs each process ~2 ms."""

    version: str
    """``"9.0"``: what ``--libvirt`` takes."""
    qemu: str
    """The QEMU whose capabilities the built-in profile describes (``"7.2"``)."""
    added_controllers_in_index_order: bool
    """Rule 1: a controller libvirt adds goes where the parser puts a written one (before the
    first of its type with a higher index, else after the last of its type), instead of at the
    end of the list; so it takes its PCI slot (and pSeries PHB target index) in that order."""
    usb2_companion_resorts_controllers: bool
    """Rule 1b: a USB2 controller without ``index``, not first in the list, makes libvirt
    re-insert every controller once indexes are filled in (types grouped, sorted by index)."""
    usb_ports_in_device_walk_order: bool
    """Rule 2: USB ports are given in the general device walk (disks, nets, sounds, hostdevs,
    CCID controllers, serials, inputs, filesystems, redirdevs) instead of 9.0's per-kind walk
    (hostdevs, disks, CCID, inputs, serials, sounds, redirdevs)."""
    usb_net_and_mtp: bool
    """Rule 2: an interface of model usb-net and a filesystem of driver mtp are USB devices
    (9.0 gives usb-net no USB address, so it fails PCI placement, and refuses mtp)."""
    q35_itco_watchdog: bool
    """Rule 3: q35 domains without an ``itco`` watchdog get one (no address)."""
    several_watchdogs: bool
    """Rule 3: a domain may have several watchdogs, all with one action and at most one
    ``itco`` (device validation); 9.0's parser refuses a second watchdog."""
    zpci_for_added_bridges: bool
    """Rule 4: on s390x a pci-bridge libvirt adds gets a ``<zpci>`` extension right away."""
    disk_index_wraps: bool
    """A disk without an address whose target name's index passes a C ``int``: 9.0 computes it
    wrapping around and refuses it only when that comes out negative; 11.3 refuses it
    (``Unknown disk name '...' and no address specified``, any bus)."""
    virtio_sound: bool
    """``<sound model='virtio'>`` exists (a virtio device: PCI, or virtio-mmio on ARM boards);
    9.0's parser refuses the model."""
    itco_watchdog_model: bool
    """A watchdog of model ``itco`` may be written (q35 only: device validation refuses it
    elsewhere); 9.0's parser refuses the model."""
    pvpanic: bool
    """``<panic model='pvpanic'>`` exists (a PCI device); 9.0's parser refuses the model."""
    vhostvdpa_disks: bool
    """``<disk type='vhostvdpa'>`` exists; 9.0's parser refuses the type."""
    generic_enum_messages: bool
    """The parser reads a hostdev's mode and type, a watchdog's and an RNG's model and a video's
    model type with its generic reader: an unknown value is refused as "Invalid value for
    attribute 'model' in element 'rng': 'x'.", a missing one as "Missing required attribute
    'model' in element 'rng'", and an empty video type is refused; 9.0 has its own words for
    each ("unknown RNG model 'x'", "missing RNG device model") and takes an empty video type for
    the default one."""
    virtio_mem_on_ccw: bool
    """A virtio-mem memory device may sit on CCW (s390x); 9.0 takes only PCI."""
    usb_disk_needs_source: bool
    """Rule 6: device validation refuses a USB disk without a source."""
    ib700_only_on_i440fx: bool
    """Rule 7: device validation refuses an ib700 watchdog on any machine but i440fx."""
    ccw_misfit_message: str
    address_without_type: str
    """The parser's words for an ``<address>`` without a ``type``."""
    """How device validation refuses a CCW address on a machine other than s390-ccw
    (``{machine}``: the versioned machine type the domain's alias stands for)."""
    versatilepb_pci_root_on_every_arm_arch: bool
    """An ARM ``versatilepb`` guest gets its ``pci-root`` on armv7l and aarch64 too (9.0 adds
    it on armv6l only, so a PCI device there fails with "No PCI buses available")."""
    memory_hotplug_checks_numa_and_count: bool
    """With ``<maxMemory>``, define refuses a domain without a NUMA node (but on ppc64: "At
    least one numa node has to be configured when enabling memory hotplug") and more memory
    devices of any model than slots ("memory device count '2' exceeds slots count '1'"); 11.3
    adds a NUMA node itself and counts only dimm and nvdimm devices, which the slot assignment
    has refused already ("failed to find an empty memory slot")."""
    usb_on_versatilepb_and_realview: bool
    """ARM ``versatilepb`` and ``realview-*`` guests get a ``pci-ohci`` USB controller 0 (9.0
    adds none on ARM: a USB device there fails with "USB is disabled for this domain")."""
    machine_aliases: Mapping[tuple[str, str], str] = MappingProxyType({})
    """Rule 8: ``(arch, alias)`` → the versioned machine type the alias stands for."""
    dropped_machines: frozenset[str] = frozenset()
    """Rule 8: machine types this version's QEMU no longer has (refused at define)."""
    missing_video_models: Mapping[str, frozenset[str]] = MappingProxyType({})
    """arch → the video models its QEMU binary lacks (device validation refuses them: "domain
    configuration does not support video model 'qxl'"); x86 has every one."""


def _aliases(qemu: str) -> Mapping[tuple[str, str], str]:
    """The machine aliases of QEMU ``qemu`` for the architectures the passes handle (``virsh
    capabilities``: ``<machine canonical='pc-i440fx-7.2'>pc</machine>``)."""
    aliases = {}
    for arch in ("x86_64", "i686"):
        aliases[(arch, "pc")] = f"pc-i440fx-{qemu}"
        aliases[(arch, "q35")] = f"pc-q35-{qemu}"
    for arch in ("aarch64", "armv7l", "armv6l"):
        aliases[(arch, "virt")] = f"virt-{qemu}"
    powernv = {"7.2": "powernv9", "10.0": "powernv10"}.get(qemu)
    for arch in ("ppc64", "ppc64le"):
        aliases[(arch, "pseries")] = f"pseries-{qemu}"
        if powernv is not None:
            aliases[(arch, "powernv")] = powernv
    aliases[("s390x", "s390-ccw-virtio")] = f"s390-ccw-virtio-{qemu}"
    return MappingProxyType(aliases)


# Machine types of QEMU 7.2 that QEMU 10.0 no longer has, among the architectures the passes
# handle (``virsh capabilities`` of both daemons compared): old versioned types, the ARM PXA
# and OMAP boards, and the ppc ref405ep.
_DROPPED_BY_QEMU_10_0 = frozenset(
    [f"pc-i440fx-{v}" for v in ("1.4", "1.5", "1.6", "1.7", "2.0", "2.1", "2.2", "2.3")]
    + [f"pseries-2.{n}" for n in range(1, 13)]
    + ["pseries-2.12-sxxm"]
    + [f"s390-ccw-virtio-2.{n}" for n in range(4, 9)]
    + ["akita", "borzoi", "cheetah", "connex", "mainstone", "n800", "n810", "spitz"]
    + ["tacoma-bmc", "terrier", "tosa", "verdex", "z2", "ref405ep"]
)


def _missing_video_models(boards: frozenset[str]) -> Mapping[str, frozenset[str]]:
    """The video models the non-x86 QEMU binaries lack (both daemons asked for every model):
    ``boards`` for ARM, PowerPC and RISC-V (qxl, with ramfb on PowerPC), and s390x's, which
    has only virtio."""
    ppc = boards | {"ramfb"}
    missing = {arch: boards for arch in ("aarch64", "armv7l", "armv6l", "riscv64", "riscv32")}
    missing.update({arch: ppc for arch in ("ppc", "ppc64", "ppc64le")})
    s390 = frozenset({"vga", "cirrus", "vmvga", "qxl", "bochs", "ramfb"})
    missing.update({"s390x": s390, "s390": s390})
    return MappingProxyType(missing)


LIBVIRT_9_0 = LibvirtRules(
    version="9.0",
    qemu="7.2",
    added_controllers_in_index_order=False,
    usb2_companion_resorts_controllers=False,
    usb_ports_in_device_walk_order=False,
    usb_net_and_mtp=False,
    q35_itco_watchdog=False,
    several_watchdogs=False,
    zpci_for_added_bridges=False,
    disk_index_wraps=True,
    virtio_sound=False,
    itco_watchdog_model=False,
    pvpanic=False,
    vhostvdpa_disks=False,
    generic_enum_messages=False,
    virtio_mem_on_ccw=False,
    usb_disk_needs_source=False,
    ib700_only_on_i440fx=False,
    ccw_misfit_message=(
        "cannot use CCW address type for device '<null>' using machine type '{machine}'"
    ),
    address_without_type=NO_ADDRESS_TYPE,
    versatilepb_pci_root_on_every_arm_arch=False,
    memory_hotplug_checks_numa_and_count=True,
    usb_on_versatilepb_and_realview=False,
    machine_aliases=_aliases("7.2"),
    missing_video_models=_missing_video_models(frozenset({"qxl"})),
)
"""libvirt 9.0.0 with QEMU 7.2 (Debian 12)."""

LIBVIRT_11_3 = LibvirtRules(
    version="11.3",
    qemu="10.0",
    added_controllers_in_index_order=True,
    usb2_companion_resorts_controllers=True,
    usb_ports_in_device_walk_order=True,
    usb_net_and_mtp=True,
    q35_itco_watchdog=True,
    several_watchdogs=True,
    zpci_for_added_bridges=True,
    disk_index_wraps=False,
    virtio_sound=True,
    itco_watchdog_model=True,
    pvpanic=True,
    vhostvdpa_disks=True,
    generic_enum_messages=True,
    virtio_mem_on_ccw=True,
    usb_disk_needs_source=True,
    ib700_only_on_i440fx=True,
    ccw_misfit_message="CCW addresses are not supported by machine type '{machine}'",
    address_without_type="Missing required attribute 'type' in element 'address'",
    versatilepb_pci_root_on_every_arm_arch=True,
    memory_hotplug_checks_numa_and_count=False,
    usb_on_versatilepb_and_realview=True,
    machine_aliases=_aliases("10.0"),
    dropped_machines=_DROPPED_BY_QEMU_10_0,
    missing_video_models=_missing_video_models(frozenset({"qxl", "vmvga"})),
)
"""libvirt 11.3.0 with QEMU 10.0 (Debian 13)."""

RULES: Mapping[str, LibvirtRules] = MappingProxyType({"9.0": LIBVIRT_9_0, "11.3": LIBVIRT_11_3})
"""Every supported libvirt version, oldest first."""

VERSIONS: tuple[str, ...] = tuple(RULES)
"""The values ``--libvirt`` takes."""

DEFAULT = VERSIONS[-1]
"""The version used when none is asked for: the newest."""


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def rules_for(version: str | None = None) -> LibvirtRules:
    """The rules of libvirt ``version`` (``"9.0"``, also ``"9.0.0"``); the newest for None.

    Raises :class:`ValueError` naming the supported versions for any other.
    """
    if version is None:
        return RULES[DEFAULT]
    wanted = version[:-2] if version.endswith(".0") and version.count(".") == 2 else version
    rules = RULES.get(wanted)
    if rules is None:
        raise ValueError(
            f"unsupported libvirt version '{version}' (supported: {', '.join(VERSIONS)})"
        )
    return rules


def rules_for_host(version: tuple[int, int, int]) -> tuple[LibvirtRules, bool]:
    """The rules for a host running libvirt ``version`` (major, minor, micro): the newest
    supported version not newer than it (the oldest when the host is older than all), and
    whether that is the host's own version (major and minor equal)."""
    host = version[:2]
    fitting = [v for v in VERSIONS if _key(v) <= host]
    chosen = fitting[-1] if fitting else VERSIONS[0]
    return RULES[chosen], _key(chosen) == host
