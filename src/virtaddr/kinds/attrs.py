"""How an address type is written in a domain's ``<address>`` element.

Each kind module declares its ``ADDRESS``, an :class:`AddressType`: the attributes libvirt reads
and writes, in libvirt's order, and for each how libvirt reads the number (C-style automatic
base or decimal only), how it writes it (``0x`` and a width, or decimal), when it writes it, and
the bounds it checks when parsing. The libvirt model reads ``<address>`` with it
(:meth:`virtaddr.libvirt.device.Device.read_address`), the write-back writes with it
(:func:`virtaddr.passes.writeback.format_address`), and a test holds ``schemas/address.xsd``
equal to it. Data only, standard library only.
"""

from __future__ import annotations

from collections.abc import Callable

from virtaddr.alloc.box import Frozen
from virtaddr.alloc.kind import AddressKind, Field

__all__ = [
    "ALWAYS",
    "IF_SET",
    "ON_OFF",
    "UINT",
    "UINT32_MAX",
    "USB_PORT",
    "WRITE_ALWAYS",
    "WRITE_IF_SET",
    "WRITE_ON_OFF",
    "WRITE_USB_PORT",
    "AddressType",
    "Attr",
]

#: What an attribute holds: a number, ``on``/``off`` (kept as text), a USB port path.
UINT, ON_OFF, USB_PORT = "uint", "on-off", "usb-port"
#: When a number is written: always (0 when unknown), or only when set and not 0.
ALWAYS, IF_SET = "always", "if-set"
#: How :attr:`AddressType.writing` says to write an attribute.
WRITE_ALWAYS, WRITE_IF_SET, WRITE_ON_OFF, WRITE_USB_PORT = 0, 1, 2, 3
#: libvirt keeps most address fields in an ``unsigned int``.
UINT32_MAX = 0xFFFFFFFF


class Attr(Frozen):
    """One attribute of an ``<address>``.

    ``auto_base``: libvirt reads the number with a C-style base (``0x`` hex, a leading ``0``
    octal), else decimal digits only. ``hex_width``: written as ``0x`` and at least that many
    digits, else decimal. ``hi``: the largest value libvirt's parser accepts; checked on reading
    only when ``limit_message`` is given (formatted with ``name``, ``text``, ``value``, ``hi``),
    else other stages check it. ``reader_max``: the largest number libvirt's reader of the
    attribute takes at all (a C ``unsigned int``, or ``unsigned long long`` where libvirt reads
    one): past it, the parser's own "Invalid value" refusal. ``required``: libvirt refuses the
    address without it. ``write``: :data:`ALWAYS` or :data:`IF_SET` (``on``/``off`` and port
    paths are written when set).

    >>> Attr("bus", auto_base=True, hex_width=2, hi=0xFF).format(3)
    '0x03'
    """

    __slots__ = (
        "_table",
        "auto_base",
        "hex_width",
        "hi",
        "limit_message",
        "name",
        "reader_max",
        "required",
        "value",
        "write",
    )
    name: str
    value: str
    auto_base: bool
    hex_width: int | None
    hi: int
    required: bool
    limit_message: str | None
    reader_max: int
    write: str
    _table: tuple[str, ...]

    def __init__(
        self,
        name: str,
        *,
        value: str = UINT,
        auto_base: bool = False,
        hex_width: int | None = None,
        hi: int = UINT32_MAX,
        required: bool = False,
        limit_message: str | None = None,
        reader_max: int = UINT32_MAX,
        write: str = ALWAYS,
    ) -> None:
        for slot, v in (
            ("name", name),
            ("value", value),
            ("auto_base", auto_base),
            ("hex_width", hex_width),
            ("hi", hi),
            ("required", required),
            ("limit_message", limit_message),
            ("reader_max", reader_max),
            ("write", write),
        ):
            object.__setattr__(self, slot, v)
        # Hex values below 256 (a PCI domain 0, bus, slot, function: hundreds written per run)
        # are looked up, not formatted.
        table = tuple(self._text(n) for n in range(min(hi, 255) + 1)) if hex_width else ()
        object.__setattr__(self, "_table", table)

    @classmethod
    def of_field(
        cls,
        field: Field,
        *,
        auto_base: bool = False,
        limit_message: str | None = None,
        reader_max: int = UINT32_MAX,
        required: bool = False,
    ) -> Attr:
        """The attribute of an allocator field: its name, bound and hex width."""
        return cls(
            field.name,
            auto_base=auto_base,
            hex_width=field.hex_width,
            hi=field.hi,
            limit_message=limit_message,
            reader_max=reader_max,
            required=required,
        )

    def __repr__(self) -> str:
        return f"Attr({self.name!r}, value={self.value!r}, auto_base={self.auto_base!r})"

    def _text(self, n: int) -> str:
        return str(n) if self.hex_width is None else f"0x{n:0{self.hex_width}x}"

    @property
    def text(self) -> Callable[[int], str]:
        """The number-to-text function of :meth:`format` without its table (``str`` for a
        decimal attribute)."""
        return str if self.hex_width is None else self._text

    def format(self, n: int) -> str:
        """The number as libvirt writes it."""
        table = self._table
        return table[n] if 0 <= n < len(table) else self._text(n)

    def limit_error(self, text: str, value: int) -> str | None:
        """libvirt's message for a parsed value past :attr:`hi`, or ``None`` (in bounds, or
        not checked on reading)."""
        if self.limit_message is None or value <= self.hi:
            return None
        return self.limit_message.format(name=self.name, text=text, value=value, hi=self.hi)


class AddressType(Frozen):
    """An ``<address type=...>``: its attributes in libvirt's order, and its allocator kind.

    ``written_if``: libvirt writes the attributes only when this one is known (a ccw address
    without a devno is written as its type alone); ``None``: always.
    """

    __slots__ = ("attrs", "kind", "limited", "name", "writing", "written_if")
    name: str
    attrs: tuple[Attr, ...]
    kind: AddressKind | None
    written_if: str | None
    #: What the write-back runs through, per attribute: ``(name, how, table, text)``, ``how``
    #: one of :data:`WRITE_ALWAYS`, :data:`WRITE_IF_SET`, :data:`WRITE_ON_OFF`,
    #: :data:`WRITE_USB_PORT` (hundreds of addresses per run: no method calls per attribute).
    writing: tuple[tuple[str, int, tuple[str, ...], Callable[[int], str]], ...]
    #: The attributes whose bounds libvirt checks while parsing (with a ``limit_message``).
    limited: tuple[Attr, ...]

    def __init__(
        self,
        name: str,
        attrs: tuple[Attr, ...] = (),
        kind: AddressKind | None = None,
        written_if: str | None = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "attrs", attrs)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "written_if", written_if)
        writing = []
        for a in attrs:
            if a.value == ON_OFF:
                how = WRITE_ON_OFF
            elif a.value == USB_PORT:
                how = WRITE_USB_PORT
            else:
                how = WRITE_ALWAYS if a.write == ALWAYS else WRITE_IF_SET
            writing.append((a.name, how, a._table, a.text))
        object.__setattr__(self, "writing", tuple(writing))
        object.__setattr__(self, "limited", tuple(a for a in attrs if a.limit_message))

    def __repr__(self) -> str:
        return f"AddressType({self.name!r}, {[a.name for a in self.attrs]})"

    @property
    def names(self) -> tuple[str, ...]:
        """The attribute names, in libvirt's order (``type`` not included)."""
        return tuple(a.name for a in self.attrs)
