"""zPCI ``uid``/``fid`` of s390 PCI devices (libvirt's PCI address extension).

Both ids are unique in the domain. Devices whose ``<zpci>`` gives at least one id are handled
while explicit PCI addresses are collected (the missing id is chosen then); the other PCI devices
get both after slot placement. uid: lowest free from 1; fid: lowest free from 0; both in
device-walk order. PCI controllers libvirt adds while placing get none (libvirt 9.0) or, with
``added_bridges`` (11.3), theirs among the other devices without ids, in device-walk order:
11.3 gives an added bridge its ids in the dry run that adds it, which keeps no id, and so again
in the final run like any device; character devices never.
"""

from __future__ import annotations

from virtaddr.errors import Collision
from virtaddr.kinds import zpci
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem

_CHARDEVS = ("serial", "parallel", "channel", "console")


class ZpciIds:
    """The uid and fid spaces of one PCI pass (fresh at every collection, as libvirt's are)."""

    def __init__(self, domain: Domain, added_bridges: bool = False) -> None:
        from virtaddr.alloc.space import AddressSpace  # s390 only: x86 runs never load it

        self.domain = domain
        self.added_bridges = added_bridges
        self.uids = AddressSpace(zpci.UID)
        self.fids = AddressSpace(zpci.FID)

    def _reset(self) -> None:
        from virtaddr.alloc.space import AddressSpace

        self.uids = AddressSpace(zpci.UID)
        self.uids.add_pool(zpci.UID.bounds, name="uid")
        self.fids = AddressSpace(zpci.FID)
        self.fids.add_pool(zpci.FID.bounds, name="fid")

    def _capable(self, d: Device) -> bool:
        if d.tag in _CHARDEVS or d.addr_type != "pci":
            return False
        added = d.tag == "controller" and d.get("type") == "pci" and d.is_new
        return not added or self.added_bridges

    @staticmethod
    def _ids(d: Device) -> dict[str, int]:
        ids = d.zpci_ids
        if ids is None:
            ids = dict(d.addr.get("zpci", {}))
        return dict(ids)

    def _ensure(self, d: Device, ids: dict[str, int]) -> Problem | None:
        """Fill the missing ids (lowest free) and reserve both; libvirt's message on a clash."""
        for name, space in (("uid", self.uids), ("fid", self.fids)):
            if name not in ids:
                free = space.first_free()
                if free is None:
                    return d.error(f"There is no more free {name}.")
                ids[name] = free[0]
        for name, space in (("uid", self.uids), ("fid", self.fids)):
            try:
                space.reserve((ids[name],), d)
            except Collision:
                # libvirt prints the id in octal here
                return d.error(f"zPCI {name} {ids[name]:o} is already reserved")
        d.zpci_ids = ids
        d.addr_dirty = True
        return None

    def collect(self) -> Problem | None:
        """The devices that give at least one id, in device-walk order."""
        self._reset()
        for d in self.domain.walk():
            if not self._capable(d):
                continue
            ids = self._ids(d)
            if ids:
                error = self._ensure(d, ids)
                if error is not None:
                    return error
        return None

    def assign_added(self, controller: Device) -> Problem | None:
        """Nothing for a PCI controller just added and plugged: the ids libvirt 11.3 reserves
        for it in the dry run are not kept (it gets its own in :meth:`assign_placed`)."""
        return None

    def assign_placed(self) -> Problem | None:
        """Both ids for the PCI devices that have none, in device-walk order."""
        for d in self.domain.walk():
            if self._capable(d) and not self._ids(d):
                error = self._ensure(d, {})
                if error is not None:
                    return error
        return None
