"""Drive addresses of disks and SCSI hostdevs, and the controllers they need."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Hashable

from virtaddr.alloc.box import Box
from virtaddr.alloc.space import AddressSpace
from virtaddr.errors import Collision, InvalidAddress
from virtaddr.kinds import drive as drive_kind
from virtaddr.libvirt.attrs import disk_name_index
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import (
    controller_model,
    default_scsi_model,
    ensure_controllers,
    maybe_add_hostdev_scsi_controllers,
)

# bus -> (units per controller, buses per controller) as libvirt derives them from names
_NAME_LAYOUT = {"scsi": (7, 1), "ide": (2, 2), "sata": (6, 1), "fdc": (2, 1)}
DRIVE_BUSES = ("scsi", "fdc", "ide", "sata")
_DRIVE_ORDER = drive_kind.KIND.names
_DRIVE_FIELDS = frozenset(_DRIVE_ORDER)

# SCSI units a controller model cannot take (first excluded unit), when the model is known.
_SCSI_MAX_UNIT = {
    "virtio-scsi": 16383,
    "lsilogic": 6,
    "vmpvscsi": 6,
    "buslogic": 6,
    "lsisas1068": 1,
    "lsisas1078": 255,
    "dc390": 6,
    "am53c974": 6,
    "ncr53c90": 6,
}


def drive_address_from_name(disk: Device) -> Problem | None:
    """Give a disk on a drive bus with no address the address its target name implies."""
    bus = disk.bus
    if bus not in _NAME_LAYOUT or disk.addr_type is not None:
        return None
    name = disk.child_get("target", "dev")
    if name is None:  # refused later, by device validation (parse_checks.missing_target)
        return None
    index = disk_name_index(name)
    if index is None:
        return disk.error(f"Unknown disk name '{name}' and no address specified")
    units, buses = _NAME_LAYOUT[bus]
    per_ctrl = units * buses
    disk.set_address(
        "drive",
        {
            "controller": index // per_ctrl,
            "bus": (index % per_ctrl) // units,
            "target": 0,
            "unit": index % units,
        },
    )
    return None


def _is_scsi_hostdev(h: Device) -> bool:
    return (
        h.tag == "hostdev" and h.get("type") == "scsi" and h.get("mode", "subsystem") == "subsystem"
    )


_NAME = re.compile(r"(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)[0-9]*")
_INT_MAX = 2**31 - 1


def _name_overflows(name: str | None, wraps: bool) -> bool:
    """Whether libvirt's virDiskNameToIndex refuses ``name`` for its index alone: past a C
    ``int`` (``wraps``: computed wrapping around, refused only when negative, as 9.0 does)."""
    match = _NAME.fullmatch(name or "")
    if match is None:
        return False  # not a name the index decides (refused elsewhere, or not at all)
    index = -1
    for ch in match.group(1):
        index = (index + 1) * 26 + (ord(ch) - 97)
        if wraps:
            index = (index + 2**31) % 2**32 - 2**31
    return index < 0 if wraps else index > _INT_MAX


DriveAddr = tuple[int, int, int, int]


class DriveSpaces:
    """The drive addresses of a domain on the allocator: a space per drive bus (a SCSI and an
    IDE disk may both be controller 0 unit 0), in it a pool per controller index holding every
    bus, target and unit libvirt reads, made when an address first names the controller (libvirt
    adds the controllers the addresses name, see :func:`add_drive_controllers`)."""

    __slots__ = ("_requests", "_spaces")

    def __init__(self) -> None:
        self._spaces: dict[str, AddressSpace] = {}
        # per bus and controller: the request for each number of units (made once: a SCSI
        # hostdev's search asks every controller in turn)
        self._requests: dict[tuple[str, int], dict[int, Box]] = {}

    def _space(self, bus: str, controller: int) -> AddressSpace:
        space = self._spaces.get(bus)
        if space is None:
            space = self._spaces[bus] = AddressSpace(drive_kind.KIND)
        if (bus, controller) not in self._requests:
            _, (_, bus_hi), (_, target_hi), (_, unit_hi) = drive_kind.KIND.bounds.ranges
            box = [(controller, controller), (0, bus_hi), (0, target_hi), (0, unit_hi)]
            space.add_pool(box, name=f"{bus} controller {controller}")
            self._requests[bus, controller] = {}
        return space

    def reserve(self, bus: str, address: DriveAddr, owner: Hashable) -> Hashable | None:
        """Reserve ``address`` on ``bus`` for ``owner``: ``None``, or who already holds it.

        Raises :class:`~virtaddr.errors.InvalidAddress` for a field past an unsigned int (which
        libvirt refuses when it reads the address).
        """
        try:
            self._space(bus, address[0]).reserve(address, owner)
        except Collision as exc:
            return exc.owner
        return None

    def reserve_first_unit(
        self, bus: str, controller: int, units: int, owner: Hashable
    ) -> DriveAddr | None:
        """Reserve the first free unit below ``units`` at bus 0, target 0 of ``controller``."""
        space = self._space(bus, controller)
        requests = self._requests[bus, controller]
        box = requests.get(units)
        if box is None:
            box = requests[units] = Box([(controller, controller), (0, 0), (0, 0), (0, units - 1)])
        found = space.try_reserve_first(box, owner)
        if found is None:
            return None
        c, b, t, u = found
        return c, b, t, u


def assign_drive_addresses(domain: Domain, index_wraps: bool = True) -> list[Problem]:
    """Disks from their names, then SCSI hostdevs into the first free unit (device-walk order).

    A disk of another bus without an address is refused when its name's index overflows
    (``index_wraps``: the version's rule, see :func:`_name_overflows`).
    """
    errors = []
    spaces = DriveSpaces()  # the SCSI disks' and hostdevs' addresses
    for d in domain.lists["disk"]:
        bus = d.bus
        if d.addr_type is None and bus in _NAME_LAYOUT:
            err = drive_address_from_name(d)
            if err:
                errors.append(err)
        elif d.addr_type is None and _name_overflows(
            name := d.child_get("target", "dev"), index_wraps
        ):
            errors.append(d.error(f"Unknown disk name '{name}' and no address specified"))
        elif d.addr_type == "drive" and d.addr.keys() != _DRIVE_FIELDS:
            d.addr_dirty = True  # complete a partial drive address
        if bus == "scsi" and d.addr_type == "drive":
            # a disk repeating another's address: reported by check_drive_addresses
            with contextlib.suppress(InvalidAddress):
                spaces.reserve("scsi", _key(d.addr), d)
    hostdevs = [h for h in domain.lists["hostdev"] if _is_scsi_hostdev(h)]
    for h in hostdevs:
        if h.addr_type == "drive":
            key = _key(h.addr)
            with contextlib.suppress(InvalidAddress):
                holder = spaces.reserve("scsi", key, h)
                if isinstance(holder, Device) and holder.tag == "disk":
                    errors.append(
                        h.error(
                            "SCSI host address controller='{}' bus='{}' target='{}' unit='{}' "
                            "in use by a SCSI disk".format(*key)
                        )
                    )
    for h in hostdevs:
        if h.addr_type is not None:
            continue
        c = 0
        while True:
            ctrl = domain.controller("scsi", c)
            model = controller_model(ctrl) if ctrl is not None else None
            max_unit = _SCSI_MAX_UNIT.get(model or "", 6)
            found = spaces.reserve_first_unit("scsi", c, min(7, max_unit + 1), h)
            if found is not None:
                h.set_address("drive", dict(zip(_DRIVE_ORDER, found, strict=True)))
                break
            c += 1
    return errors


def _key(addr: dict[str, int]) -> DriveAddr:
    return (
        addr.get("controller", 0),
        addr.get("bus", 0),
        addr.get("target", 0),
        addr.get("unit", 0),
    )


def add_drive_controllers(domain: Domain) -> None:
    """Add every missing controller 0..max for the drive addresses of each bus."""
    highest: dict[str, int] = {}  # per drive bus: the highest controller a disk names
    for d in domain.lists["disk"]:
        bus = d.bus
        if bus in _NAME_LAYOUT and d.addr_type == "drive":
            highest[bus] = max(highest.get(bus, 0), d.addr.get("controller", 0))
    for bus in DRIVE_BUSES:
        if bus in highest:
            model = default_scsi_model(domain) if bus == "scsi" else None
            ensure_controllers(domain, bus, range(highest[bus] + 1), model)


def add_hostdev_scsi_controllers(domain: Domain) -> None:
    """The post-parse call (libvirt's implicit controllers): hostdevs now have addresses and
    controllers their default models."""
    maybe_add_hostdev_scsi_controllers(domain, domain.lists["hostdev"], default_scsi_model(domain))


def disk_validation_errors(domain: Domain) -> list[Problem]:
    """Each disk's first problem in libvirt's per-device validation, in device-walk order.

    A disk without ``<target dev>`` is left out: libvirt's generic check refuses it first
    (:func:`virtaddr.passes.parse_checks.missing_target`).
    """
    errors: list[Problem] = []
    for d in domain.lists["disk"]:
        name = d.child_get("target", "dev")
        if name is None:
            continue
        bus = d.bus
        problem = _disk_error(d, bus, name)
        if problem is None and d.addr_type == "drive" and bus in _NAME_LAYOUT:
            problem = next(iter(_drive_limit_errors(domain, d, bus, _key(d.addr))), None)
        if problem is None:
            problem = partition_target_error(d)
        if problem is not None:
            errors.append(problem)
    return errors


# A target name with a partition number, as C's strtol reads one that fits an int (``vdb1``).
_PARTITION = re.compile(r"(?:fd|hd|vd|sd|xvd|ubd)[a-z]+([1-9][0-9]*)")


def partition_target_error(disk: Device) -> Problem | None:
    """libvirt's validation of a disk's ``<target dev>`` (the last of the disk's checks): a name
    that names a partition (``vdb1``) is refused."""
    name = disk.child_get("target", "dev")
    match = _PARTITION.fullmatch(name or "")
    if match is None or int(match.group(1)) > _INT_MAX:
        return None
    return disk.error(f"invalid disk target '{name}', partitions can't appear in disk targets")


def duplicate_targets(domain: Domain) -> list[Problem]:
    """Disks that repeat an earlier disk's ``<target dev>`` (libvirt compares every pair of the
    disk list after device validation, before the drive addresses): the message names both
    disks' sources, ``<null>`` for a disk without one. Each is reported on the later disk."""
    return [
        later.error(
            f"target '{later.child_get('target', 'dev')}' duplicated for disk sources "
            f"'{disk_source(first)}' and '{disk_source(later)}'"
        )
        for first, later in duplicate_target_pairs(domain)
    ]


def duplicate_target_pairs(domain: Domain) -> list[tuple[Device, Device]]:
    """Each disk that repeats a target name, after the first disk of that name, in the order
    libvirt's two loops over the disk list meet the pairs (so its first error comes first)."""
    groups: dict[str, list[tuple[int, Device]]] = {}
    for n, d in enumerate(domain.lists["disk"]):
        name = d.child_get("target", "dev")
        if name is not None:
            groups.setdefault(name, []).append((n, d))
    ranked = sorted(
        (
            (members[0][0], n, members[0][1], d)
            for members in groups.values()
            for n, d in members[1:]
        ),
        key=lambda t: (t[0], t[1]),
    )
    return [(first, later) for _, _, first, later in ranked]


# Where each disk type keeps what libvirt calls the disk's source path.
_SOURCE_ATTRIBUTE = {"file": "file", "block": "dev", "dir": "dir", "network": "name"}


def disk_source(disk: Device) -> str:
    """The disk's source as libvirt's messages show it, ``<null>`` when it has none."""
    attr = _SOURCE_ATTRIBUTE.get(disk.get("type") or "file")
    value = disk.child_get("source", attr) if attr is not None else None
    return "<null>" if value is None else value


def check_drive_addresses(
    domain: Domain, *, duplicates: bool = True, disks: tuple[Device, ...] | None = None
) -> list[Problem]:
    """The define-time validation of drive addresses (libvirt stops at the first)."""
    errors: list[Problem] = []
    spaces = DriveSpaces() if duplicates else None
    for d in domain.lists["disk"] if disks is None else disks:
        bus = d.bus
        problem = _disk_error(d, bus, d.child_get("target", "dev"))
        if problem is not None:
            errors.append(problem)
            continue
        if d.addr_type != "drive" or bus not in _NAME_LAYOUT:
            continue
        a = _key(d.addr)
        errors += _drive_limit_errors(domain, d, bus, a)
        if spaces is None:
            continue
        try:
            other = spaces.reserve(bus, a, d)
        except InvalidAddress:
            continue  # refused when libvirt reads it
        if isinstance(other, Device):
            name = other.child_get("target", "dev")
            errors.append(
                other.error(
                    f"Found duplicate drive address for disk with target name '{name}' "
                    "controller='{}' bus='{}' target='{}' unit='{}'".format(*a)
                )
            )
    return errors


def _drive_limit_errors(domain: Domain, d: Device, bus: str, a: DriveAddr) -> list[Problem]:
    """What the driver refuses in the drive address ``a`` of a disk on ``bus``, in its order."""
    errors: list[Problem] = []
    if bus == "scsi":
        if a[1] != 0:
            errors.append(d.error("SCSI controller only supports 1 bus"))
        ctrl = domain.controller("scsi", a[0])
        if a[2] != 0 and ctrl is not None and controller_model(ctrl) == "lsilogic":
            errors.append(d.error("target must be 0 for controller model 'lsilogic'"))
    elif bus == "ide":
        if a[0] != 0:
            errors.append(d.error("Only 1 IDE controller is supported"))
        if a[2] != 0:
            errors.append(d.error("target must be 0 for ide controller"))
    elif bus == "fdc":
        if a[0] != 0:
            errors.append(d.error("Only 1 fdc controller is supported"))
        if a[1] != 0:
            errors.append(d.error("Only 1 fdc bus is supported"))
        if a[2] != 0:
            errors.append(d.error("target must be 0 for controller fdc"))
    elif bus == "sata":
        if a[1] != 0:
            errors.append(d.error("bus must be 0 for sata controller"))
        if a[2] != 0:
            errors.append(d.error("target must be 0 for sata controller"))
    return errors


_HARDDISK_PREFIXES = ("hd", "sd", "vd", "xvd", "ubd")


def _disk_error(disk: Device, bus: str | None, name: str | None) -> Problem | None:
    """The problem that ends a disk's validation before its drive address is looked at (``name``
    is its ``<target dev>``): an address of another type on a drive bus; then libvirt's generic
    disk validation of bus and name against the device kind (a floppy only on fdc, nothing else
    there; a disk or lun named like a hard disk, a floppy ``fd*``); then a USB disk's address."""
    atype = disk.addr_type
    if bus in _NAME_LAYOUT and atype not in (None, "drive"):
        return disk.error(
            f"Invalid address type '{atype}' for the disk '{name}' with the bus type '{bus}'"
        )
    device = disk.get("device") or "disk"
    if device == "floppy":
        if bus != "fdc":
            return disk.error(f"Invalid bus type '{bus}' for floppy disk")
    elif bus == "fdc":
        return disk.error(f"Invalid bus type '{bus}' for disk")
    # without a name: refused by its own check (parse_checks.missing_target)
    if name is not None:
        if device in ("disk", "lun") and not name.startswith(_HARDDISK_PREFIXES):
            return disk.error(f"Invalid harddisk device name: {name}")
        if device == "floppy" and not name.startswith("fd"):
            return disk.error(f"Invalid floppy device name: {name}")
    if bus == "usb" and atype not in (None, "usb"):
        return disk.error("unexpected address type for usb disk")
    return None
