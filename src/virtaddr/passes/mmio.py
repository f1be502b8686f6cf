"""virtio-mmio or PCI for virtio devices on ARM/RISC-V boards, and the virtio device list.

On ``virt`` libvirt prefers PCI, unless some device already has a virtio-mmio address: then every
address-less virtio device becomes virtio-mmio. ``vexpress`` has no PCI: always virtio-mmio.
"""

from __future__ import annotations

from collections.abc import Iterator

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.defaults import controller_model

VIRTIO_NET_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")


def virtio_devices(domain: Domain, *, ccw: bool) -> Iterator[Device]:
    """The address-less devices libvirt declares virtio-ccw / virtio-mmio, in its order.

    Disks, nets, videos, inputs, controllers, hostdevs, memballoon, rngs, memories; with ``ccw``
    also filesystems and vsock.
    """
    lists = domain.lists
    candidates: list[Device] = []
    candidates += [d for d in lists["disk"] if d.bus == "virtio"]
    candidates += [n for n in lists["net"] if n.model in VIRTIO_NET_MODELS]
    candidates += [v for v in lists["video"] if v.model == "virtio"]
    candidates += [i for i in lists["input"] if i.bus == "virtio"]
    candidates += [c for c in lists["controller"] if c.get("type") in ("virtio-serial", "scsi")]
    candidates += [
        h
        for h in lists["hostdev"]
        if h.tag == "hostdev"
        and h.get("mode", "subsystem") == "subsystem"
        and h.get("type") == "scsi_host"
    ]
    candidates += [m for m in lists["memballoon"] if controller_model(m) != "none"]
    candidates += lists["rng"]
    candidates += [m for m in lists["memory"] if m.get("model") in ("virtio-pmem", "virtio-mem")]
    candidates += [s for s in lists["sound"] if s.get("model") == "virtio"]  # libvirt 11.3
    if ccw:
        candidates += lists["filesystem"]
        candidates += lists["vsock"]
    for d in candidates:
        if d.addr_type is None:
            yield d


def assign_virtio_mmio(domain: Domain) -> list[Problem]:
    family = domain.machine.family
    if family not in ("virt", "vexpress"):
        return []
    if family == "virt" and not any(d.addr_type == "virtio-mmio" for d in domain.walk()):
        return []
    for d in list(virtio_devices(domain, ccw=False)):
        d.set_address("virtio-mmio", {})
    return []
