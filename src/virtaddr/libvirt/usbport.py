"""USB port paths as libvirt writes them: ``1``, ``1.2``, up to four levels, each from 1."""

from __future__ import annotations

from virtaddr.kinds.usb import LEVELS

#: How many levels a port path has at most (the USB kind's port fields).
MAX_DEPTH = LEVELS


def parse_usb_port(text: str) -> tuple[int, ...] | None:
    """``"1.2"`` -> ``(1, 2)``; ``None`` for anything libvirt cannot parse."""
    parts = text.split(".")
    if len(parts) > MAX_DEPTH:
        return None
    out = []
    for p in parts:
        if not p.isdigit():
            return None
        out.append(int(p))
    return tuple(out)


def format_usb_port(port: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in port)
