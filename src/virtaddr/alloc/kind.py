"""Address kinds: the declaration of a space's dimensions, and how to show its addresses.

A kind is data, not code: adding an address type to virtaddr is a declaration of its fields and
bounds (see :mod:`virtaddr.kinds`). The optional ``format_address`` lets messages show addresses
the way users write them (``0000:01:03.0``, ``192.168.1.2``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from virtaddr.alloc.box import Box, Frozen, _is_int
from virtaddr.alloc.request import Request, RequestItem
from virtaddr.errors import InvalidAddress

__all__ = ["AddressKind", "Field"]

Address = tuple[int, ...]


class Field(Frozen):
    """One dimension of an address: its name and inclusive bounds ``lo..hi``.

    ``hex_width`` (digits) says the field is written in hexadecimal, as libvirt writes PCI
    addresses; ``None`` means decimal.
    """

    __slots__ = ("hex_width", "hi", "lo", "name")
    name: str
    lo: int
    hi: int
    hex_width: int | None

    def __init__(self, name: str, lo: int, hi: int, hex_width: int | None = None) -> None:
        if not (_is_int(lo) and _is_int(hi)) or lo > hi:
            raise InvalidAddress(f"field {name}: bad bounds {lo!r}..{hi!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "hex_width", hex_width)

    def _key(self) -> tuple[str, int, int, int | None]:
        return (self.name, self.lo, self.hi, self.hex_width)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Field)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Field(name={self.name!r}, lo={self.lo!r}, hi={self.hi!r}, "
            f"hex_width={self.hex_width!r})"
        )

    def format(self, value: int) -> str:
        """The value as text: ``0x`` and ``hex_width`` digits, or decimal."""
        if self.hex_width is None:
            return str(value)
        return f"0x{value:0{self.hex_width}x}"


class AddressKind(Frozen):
    """An address type: a name and its fields, first most significant.

    >>> k = AddressKind("drive", (Field("controller", 0, 7), Field("unit", 0, 1)))
    >>> k.address(controller=1, unit=0), k.request(unit=1)
    ((1, 0), Request(items=(None, 1)))
    >>> k.describe((1, 0)), k.describe_box(Box([(0, 7), (1, 1)]))
    ('controller=1 unit=0', 'controller=* unit=1')
    """

    __slots__ = ("bounds", "fields", "format_address", "name")
    name: str
    fields: tuple[Field, ...]
    format_address: Callable[[Address], str] | None  # not compared
    bounds: Box  # derived from the fields

    def __init__(
        self,
        name: str,
        fields: Sequence[Field],
        format_address: Callable[[Address], str] | None = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "fields", tuple(fields))
        object.__setattr__(self, "format_address", format_address)
        if not self.fields:
            raise InvalidAddress(f"kind {self.name}: no fields")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise InvalidAddress(f"kind {self.name}: duplicate field names {names}")
        object.__setattr__(self, "bounds", Box((f.lo, f.hi) for f in self.fields))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AddressKind)
        return (self.name, self.fields) == (other.name, other.fields)

    def __hash__(self) -> int:
        return hash((self.name, self.fields))

    def __repr__(self) -> str:
        return (
            f"AddressKind(name={self.name!r}, fields={self.fields!r}, "
            f"format_address={self.format_address!r})"
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The field names in order."""
        return tuple(f.name for f in self.fields)

    def address(self, *values: int, **named: int) -> Address:
        """An address from positional values or every field by name, checked. O(d).

        Raises :class:`InvalidAddress` on a missing, unknown or out-of-bounds field.
        """
        if named:
            if values:
                raise InvalidAddress("give an address by position or by name, not both")
            unknown = set(named) - set(self.names)
            if unknown:
                raise InvalidAddress(f"{self.name}: unknown field(s) {sorted(unknown)}")
            missing = [n for n in self.names if n not in named]
            if missing:
                raise InvalidAddress(f"{self.name}: missing field(s) {missing}")
            values = tuple(named[n] for n in self.names)
        return self.check(values)

    def check(self, address: Sequence[int]) -> Address:
        """The address as a tuple, after checking its length, types and bounds. O(d).

        Raises :class:`InvalidAddress`, naming the field, when it does not fit.
        """
        t = address if type(address) is tuple else tuple(address)
        if len(t) == len(self.fields):
            # The common case, in one pass of plain comparisons; anything odd falls through
            # to the checks below, which name what is wrong.
            for v, (lo, hi) in zip(t, self.bounds.ranges, strict=True):
                if type(v) is not int or not lo <= v <= hi:
                    break
            else:
                return t
        if len(t) != len(self.fields):
            raise InvalidAddress(
                f"{self.name} address {t} has {len(t)} fields, expected {len(self.fields)} "
                f"({', '.join(self.names)})"
            )
        for v, f in zip(t, self.fields, strict=True):
            if not _is_int(v) or not f.lo <= v <= f.hi:
                raise InvalidAddress(
                    f"{self.name} address {t}: {f.name}={v!r} is not within {f.lo}..{f.hi}"
                )
        return t

    def request(self, **named: RequestItem) -> Request:
        """A request by field name; fields not named are ``None`` (any)."""
        unknown = set(named) - set(self.names)
        if unknown:
            raise InvalidAddress(f"{self.name}: unknown field(s) {sorted(unknown)}")
        return Request(tuple(named.get(n) for n in self.names))

    def describe(self, address: Sequence[int]) -> str:
        """The address as users write it: ``format_address`` or ``name=value`` pairs."""
        t = tuple(address)
        if self.format_address is not None:
            return self.format_address(t)
        return " ".join(f"{f.name}={f.format(v)}" for f, v in zip(self.fields, t, strict=True))

    def describe_box(self, box: Box) -> str:
        """A box as users read it: ``first–last`` for a run when addresses have a format,
        else ``name=lo..hi`` pairs with ``*`` for a whole field."""
        if box.is_point:
            return self.describe(box.lo)
        if self.format_address is not None and box.is_run_within(self.bounds):
            return f"{self.format_address(box.lo)}–{self.format_address(box.hi)}"
        parts = []
        for f, (lo, hi) in zip(self.fields, box.ranges, strict=True):
            if (lo, hi) == (f.lo, f.hi):
                parts.append(f"{f.name}=*")
            elif lo == hi:
                parts.append(f"{f.name}={f.format(lo)}")
            else:
                parts.append(f"{f.name}={f.format(lo)}..{f.format(hi)}")
        return " ".join(parts)
