"""Numbers as libvirt's parser reads them: the one reader of numeric attribute text.

libvirt reads most numbers with ``strtoul``-style base detection (``0x`` hex, a leading ``0``
octal, else decimal: ``010`` is 8 and ``09`` is no number), and some (controller indexes, disk
and port numbers) in decimal only (``010`` is 10). Surrounding blanks are ignored, as
``virXMLPropUInt`` trims them; a sign or anything else makes the text no number.
"""

from __future__ import annotations

import re

__all__ = ["parse_uint"]

_DECIMAL = re.compile(r"[0-9]+\Z")
_AUTO = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def parse_uint(text: str, *, auto_base: bool = True) -> int | None:
    """``text`` as a non-negative integer the way libvirt reads it, or ``None`` when it is not one.

    >>> parse_uint("0x1f"), parse_uint("010"), parse_uint("09"), parse_uint(" 7 ")
    (31, 8, None, 7)
    >>> parse_uint("010", auto_base=False), parse_uint("0x1", auto_base=False)
    (10, None)
    """
    text = text.strip()
    if auto_base:
        if not _AUTO.match(text):
            return None
        if text[:2] in ("0x", "0X"):
            return int(text, 16)
        if len(text) > 1 and text[0] == "0":
            return int(text, 8)
        return int(text)
    if not _DECIMAL.match(text):
        return None
    return int(text)
