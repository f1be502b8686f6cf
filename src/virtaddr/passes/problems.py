"""Problems found in a domain definition, as values: what ``virtaddr check`` reports.

An *error* is something libvirt 9.0 rejects at define time; a *warning* is advice beyond libvirt
(accepted, but likely a mistake). A problem names the device and its source line; a collision
also names the other device and its line in ``related``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from virtaddr.errors import DomainError

__all__ = ["ERROR", "WARNING", "Problem", "Related", "Severity"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class Related:
    """Another place a problem concerns (the other device of a collision)."""

    line: int | None
    device: str | None


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: severity, one-line message, where (line, XPath-like path) and which device.

    ``code`` is a short stable identifier (``pci-collision``, ``libvirt``, ...) for machines;
    ``source`` names the input file.
    """

    severity: Severity
    message: str
    line: int | None = None
    device: str | None = None
    source: str | None = None
    path: str | None = None
    code: str = "libvirt"
    related: tuple[Related, ...] = ()

    @classmethod
    def from_error(cls, error: DomainError, *, code: str = "libvirt") -> Problem:
        """An error problem carrying a :class:`DomainError`'s message and location."""
        return cls(
            ERROR,
            error.message,
            line=error.line,
            device=error.device,
            source=error.source,
            path=error.path,
            code=code,
        )

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def lines(self) -> frozenset[int]:
        """Every source line the problem concerns."""
        found = {r.line for r in self.related if r.line is not None}
        if self.line is not None:
            found.add(self.line)
        return frozenset(found)

    def format(self) -> str:
        """``FILE:LINE: error|warning: device: message``, the way compilers print."""
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        device = f"{self.device}: " if self.device else ""
        return f"{where}: {self.severity}: {device}{self.message}"

    def as_json(self) -> dict[str, Any]:
        """The problem as described by ``schemas/check-report.schema.json``."""
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "device": self.device,
            "path": self.path,
        }
        if self.related:
            out["related"] = [{"line": r.line, "device": r.device} for r in self.related]
        return out
