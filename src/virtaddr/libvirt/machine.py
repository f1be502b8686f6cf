"""Machine types: which family a machine name belongs to."""

from __future__ import annotations

X86_ARCHES = ("x86_64", "i686")
ARM_ARCHES = ("aarch64", "armv7l", "armv6l")
RISCV_ARCHES = ("riscv64", "riscv32")
PPC64_ARCHES = ("ppc64", "ppc64le")
S390_ARCHES = ("s390x", "s390")
# The families of other architectures virtaddr handles (libvirt rules document, section 11).
OTHER_FAMILIES = ("virt", "vexpress", "pseries", "s390-ccw")


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
        """``"q35"``, ``"pc"``, one of :data:`OTHER_FAMILIES`, or ``"other"`` (unsupported).

        ``virt``: ARM or RISC-V ``virt``/``virt-*``; ``vexpress``: ARM ``vexpress-*``;
        ``pseries``: ppc64 ``pseries*``; ``s390-ccw``: s390x ``s390-ccw-virtio*``.
        """
        arch, name = self.arch, self.name
        if arch in X86_ARCHES:
            if self.is_q35:
                return "q35"
            if self.is_i440fx:
                return "pc"
        elif arch in ARM_ARCHES + RISCV_ARCHES and (name == "virt" or name.startswith("virt-")):
            return "virt"
        elif arch in ARM_ARCHES and name.startswith("vexpress-"):
            return "vexpress"
        elif arch in PPC64_ARCHES and name.startswith("pseries"):
            return "pseries"
        elif arch in S390_ARCHES and name.startswith("s390-ccw-virtio"):
            return "s390-ccw"
        return "other"

    @property
    def is_x86(self) -> bool:
        return self.family in ("pc", "q35")

    @property
    def has_pcie_root(self) -> bool:
        return self.is_q35 or self.family == "virt"

    @property
    def has_pci(self) -> bool:
        """Whether the machine has a PCI host bridge at all (``vexpress`` has none)."""
        return self.family != "vexpress"
