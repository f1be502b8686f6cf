"""Machine types: which family a machine name belongs to."""

from __future__ import annotations

from dataclasses import dataclass

X86_ARCHES = ("x86_64", "i686")


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
        return (
            n in ("", "pc")
            or n.startswith(("pc-0.", "pc-1.", "pc-i440fx-", "rhel"))
        )

    @property
    def family(self) -> str:
        """``"q35"``, ``"pc"`` or ``"other"``."""
        if self.arch in X86_ARCHES:
            if self.is_q35:
                return "q35"
            if self.is_i440fx:
                return "pc"
        return "other"

    @property
    def has_pcie_root(self) -> bool:
        return self.is_q35
