"""Machine types: which family a machine name belongs to."""

from __future__ import annotations

from dataclasses import dataclass

X86_ARCHES = ("x86_64", "i686")
ARM_ARCHES = ("aarch64", "armv7l", "armv6l")
RISCV_ARCHES = ("riscv64", "riscv32")
PPC64_ARCHES = ("ppc64", "ppc64le")
S390_ARCHES = ("s390x", "s390")
# The families of other architectures virtaddr handles (libvirt rules document, section 11).
OTHER_FAMILIES = ("virt", "vexpress", "pseries", "s390-ccw")


@dataclass(frozen=True, slots=True)
class Machine:
    """The guest's architecture and machine type as written (``machine`` may be empty)."""

    arch: str
    name: str

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
