"""Problems found in a domain definition, as values: what every stage, ``check`` and the API
report.

An *error* is something libvirt 9.0 rejects at define time; a *warning* is advice beyond libvirt
(accepted, but likely a mistake). A problem is made complete where it is found: the device and
the domain know their source and lines (:meth:`Device.error <virtaddr.libvirt.device.Device.error>`,
:meth:`Domain.error <virtaddr.libvirt.domain.Domain.error>`), so nothing fills in a field later.
A collision also names the other device and its line in ``related``.

Plain ``__slots__`` classes rather than frozen dataclasses, with the same constructor, equality,
hashing and repr: every ``virtaddr assign`` loads this module, and ``@dataclass`` (with the
``dataclasses`` module) would add milliseconds to each process (P1 in benchmarks/README.md).
"""

from __future__ import annotations

from typing import Any, Literal

from virtaddr.errors import AddressError, DomainError

__all__ = ["ERROR", "WARNING", "Problem", "Related", "Severity"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


class _Frozen:
    """Immutable once made: subclasses set their slots with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


class Related(_Frozen):
    """Another place a problem concerns (the other device of a collision)."""

    __slots__ = ("device", "line")
    line: int | None
    device: str | None

    def __init__(self, line: int | None, device: str | None) -> None:
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "device", device)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Related:
            return NotImplemented
        assert isinstance(other, Related)
        return (self.line, self.device) == (other.line, other.device)

    def __hash__(self) -> int:
        return hash((self.line, self.device))

    def __repr__(self) -> str:
        return f"Related(line={self.line!r}, device={self.device!r})"


_FIELDS = ("severity", "message", "line", "device", "source", "path", "code", "related")


class Problem(_Frozen):
    """One problem: severity, one-line message, where (line, XPath-like path) and which device.

    ``code`` is a short stable identifier (``pci-collision``, ``libvirt``, ...) for machines;
    ``source`` names the input file.
    """

    __slots__ = _FIELDS
    severity: Severity
    message: str
    line: int | None
    device: str | None
    source: str | None
    path: str | None
    code: str
    related: tuple[Related, ...]

    def __init__(
        self,
        severity: Severity,
        message: str,
        line: int | None = None,
        device: str | None = None,
        source: str | None = None,
        path: str | None = None,
        code: str = "libvirt",
        related: tuple[Related, ...] = (),
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "severity", severity)
        setattr_(self, "message", message)
        setattr_(self, "line", line)
        setattr_(self, "device", device)
        setattr_(self, "source", source)
        setattr_(self, "path", path)
        setattr_(self, "code", code)
        setattr_(self, "related", related)

    def _values(self) -> tuple[Any, ...]:
        return (
            self.severity,
            self.message,
            self.line,
            self.device,
            self.source,
            self.path,
            self.code,
            self.related,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Problem:
            return NotImplemented
        assert isinstance(other, Problem)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(_FIELDS, self._values(), strict=True)
        )
        return f"Problem({fields})"

    def replace(self, **changes: Any) -> Problem:
        """A copy with ``changes`` (field names and values), as ``dataclasses.replace`` gives."""
        values = dict(zip(_FIELDS, self._values(), strict=True))
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"Problem has no field {', '.join(sorted(unknown))}")
        values.update(changes)
        return Problem(**values)

    @classmethod
    def from_error(cls, error: DomainError, *, code: str = "libvirt") -> Problem:
        """An error problem carrying a :class:`DomainError`'s message and location (an exception
        raised, made a value to report with the others)."""
        return cls(
            ERROR,
            error.message,
            line=error.line,
            device=error.device,
            source=error.source,
            path=error.path,
            code=code,
        )

    def as_error(self) -> AddressError:
        """The problem as an :class:`AddressError`, for callers that report exceptions (its
        ``str()`` is ``FILE:LINE: device: message``)."""
        return AddressError(
            self.message, line=self.line, path=self.path, device=self.device, source=self.source
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
