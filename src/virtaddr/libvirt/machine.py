"""Machine types: which family a machine name belongs to."""

from __future__ import annotations

X86_ARCHES = ("x86_64", "i686")
ARM_ARCHES = ("aarch64", "armv7l", "armv6l")
RISCV_ARCHES = ("riscv64", "riscv32")
PPC64_ARCHES = ("ppc64", "ppc64le")
PPC_ARCHES = ("ppc",)
S390_ARCHES = ("s390x", "s390")
# The families of other architectures virtaddr handles (libvirt rules document, section 11).
OTHER_FAMILIES = (
    "virt",
    "versatilepb",
    "vexpress",
    "arm-board",
    "riscv-board",
    "pseries",
    "ppc64",
    "ppc",
    "s390-ccw",
)
# Families whose machine has no PCI at all (libvirt's qemuDomainSupportsPCI): ARM boards but
# virt and versatilepb, RISC-V boards but virt.
_NO_PCI = ("vexpress", "arm-board", "riscv-board")


class Machine:
    """The guest's architecture and machine type as written (``machine`` may be empty).

    A plain class, not a dataclass: ``@dataclass`` would add ~0.5 ms to every process's start.
    """

    __slots__ = ("arch", "name")

    def __init__(self, arch: str, name: str) -> None:
        self.arch = arch
        self.name = name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Machine):
            return NotImplemented
        return (self.arch, self.name) == (other.arch, other.name)

    def __hash__(self) -> int:
        return hash((self.arch, self.name))

    def __repr__(self) -> str:
        return f"Machine(arch={self.arch!r}, name={self.name!r})"

    @property
    def is_q35(self) -> bool:
        return self.name == "q35" or self.name.startswith("pc-q35-")

    @property
    def is_i440fx(self) -> bool:
        n = self.name
        return n in ("", "pc") or n.startswith(("pc-0.", "pc-1.", "pc-i440fx-", "rhel"))

    @property
    def family(self) -> str:
        """``"q35"``, ``"pc"``, ``"x86"``, one of :data:`OTHER_FAMILIES`, or ``"other"``
        (unsupported).

        ``x86``: any other x86 machine (``isapc``, ``microvm``: no PCI root of their own);
        ``virt``: ARM or RISC-V ``virt``/``virt-*``; ``versatilepb``: the ARM board with PCI;
        ``vexpress``: ARM ``vexpress-*`` (virtio-mmio); ``arm-board``: every other ARM board
        (``realview-*``, ``raspi*``, ...: no PCI); ``riscv-board``: RISC-V boards but ``virt``
        (no PCI); ``pseries``: ppc64 ``pseries*``; ``ppc64``: the other ppc64 machines
        (``powernv*``, ...); ``ppc``: 32-bit PowerPC machines (``mac99``, ``ppce500``, ...);
        ``s390-ccw``: s390x ``s390-ccw-virtio*``.
        """
        arch, name = self.arch, self.name
        if arch in X86_ARCHES:
            if self.is_q35:
                return "q35"
            if self.is_i440fx:
                return "pc"
            return "x86"
        if arch in ARM_ARCHES + RISCV_ARCHES and (name == "virt" or name.startswith("virt-")):
            return "virt"
        if arch in ARM_ARCHES:
            if name == "versatilepb":
                return "versatilepb"
            return "vexpress" if name.startswith("vexpress-") else "arm-board"
        if arch in RISCV_ARCHES:
            return "riscv-board"
        if arch in PPC64_ARCHES:
            return "pseries" if name == "pseries" or name.startswith("pseries-") else "ppc64"
        if arch in PPC_ARCHES:
            return "ppc"
        if arch in S390_ARCHES and name.startswith("s390-ccw-virtio"):
            return "s390-ccw"
        return "other"

    @property
    def is_x86(self) -> bool:
        """Whether the guest is x86 (any machine type: pc, q35, isapc, ...)."""
        return self.arch in X86_ARCHES

    @property
    def has_pcie_root(self) -> bool:
        return self.is_q35 or self.family == "virt"

    @property
    def has_builtin_ide(self) -> bool:
        """Whether the board has its own IDE controller (index 0): i440fx, g3beige, ..."""
        return (self.is_x86 and self.is_i440fx) or self.name in ("malta", "sun4u", "g3beige")

    @property
    def has_pci(self) -> bool:
        """Whether libvirt gives the machine PCI addresses at all (ARM boards but versatilepb
        and RISC-V boards have none)."""
        return self.family not in _NO_PCI
