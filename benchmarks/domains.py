"""Domains the performance benchmarks measure, generated (no corpus copy).

:func:`q35_disks` is a q35 domain with ``n`` virtio disks (targets ``vda``, ``vdb``, ...) and
no address anywhere: every disk gets a pcie-root-port of its own, so the PCI pass does as much
as it can on one bus. 200 disks (``vda``..``vdgr``) is what libvirt itself handles; beyond
about 230 libvirt runs out of bus 0 slots and only ``--grow deep`` goes on.
"""

from __future__ import annotations

import string


def disk_name(n: int) -> str:
    """libvirt's disk name for index ``n`` (0 -> 'vda', 25 -> 'vdz', 26 -> 'vdaa')."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return "vd" + letters


def q35_disks(n: int, name: str = "bench-q35", metadata: int = 0) -> str:
    """The text of a q35 x86_64 domain of type 'qemu' with ``n`` address-less virtio disks;
    with ``metadata``, a ``<metadata>`` of that many entries (~120 bytes each) first."""
    disks = "".join(
        f"    <disk type='file' device='disk'>\n"
        f"      <driver name='qemu' type='raw'/>\n"
        f"      <source file='/var/lib/libvirt/images/d{i}.img'/>\n"
        f"      <target dev='{disk_name(i)}' bus='virtio'/>\n"
        f"    </disk>\n"
        for i in range(n)
    )
    entries = "".join(
        f"    <app:entry xmlns:app='http://example.org/inventory/1' kind='note' id='{i:06d}'>"
        f"the value of entry {i:06d}</app:entry>\n"
        for i in range(metadata)
    )
    return (
        "<domain type='qemu'>\n"
        f"  <name>{name}</name>\n"
        + (f"  <metadata>\n{entries}  </metadata>\n" if metadata else "")
        + "  <memory unit='KiB'>1048576</memory>\n"
        "  <vcpu>1</vcpu>\n"
        "  <os>\n"
        "    <type arch='x86_64' machine='q35'>hvm</type>\n"
        "  </os>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        f"{disks}"
        "  </devices>\n"
        "</domain>\n"
    )
