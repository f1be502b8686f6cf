"""Compare the device addresses of two domain XMLs (EXPECTED: libvirt's, ACTUAL: ours).

Two implementations behind one call, :func:`compare_files`:

* the oracle's ``compare-addresses`` script (``../shared/oracle``), loaded with importlib from its
  path (never copied here) and preferred whenever it is present;
* a small one of our own (:func:`own_problems`) so that a fresh clone without ``../shared`` still
  checks the golden fixtures offline. It follows the oracle README's pairing rules:
  controllers by ``(type, index)`` (USB companions also by ``ich9-uhciN`` model or
  ``<master startport>``), disks by ``<target dev>``, every other device by element name + its
  order among the elements of that name and kind (kind: ``type`` attribute; type + bus for
  ``<input>``; target type for chardevs; nothing for sound/video/rng/...). Addresses compare as
  numbers (any base, absent = 0, ``multifunction='off'`` = absent, USB port paths numerically);
  controllers also by model, ``<model name>`` and ``<target>`` attributes.

Both return a list of human-readable problems; empty means the addresses match.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from lxml import etree

__all__ = ["compare_files", "load_oracle_compare", "own_problems"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


# ---------------------------------------------------------------------------- the oracle's


@cache
def load_oracle_compare(script: Path | None) -> ModuleType | None:
    """The oracle's compare-addresses script as a module (it has no .py suffix), or None."""
    if script is None or not script.is_file():
        return None
    loader = importlib.machinery.SourceFileLoader("oracle_compare_addresses", str(script))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def oracle_problems(module: ModuleType, expected: Path, actual: Path) -> list[str]:
    rows = module.compare(module.parse(str(expected)), module.parse(str(actual)), None, True, True)
    _matched, _total, problems = module.summarise(rows)
    return [module.describe(r) for r in problems]


def compare_files(expected: Path, actual: Path, script: Path | None = None) -> list[str]:
    """Problems comparing ``actual`` against ``expected`` (controller details included).

    Uses the oracle's compare-addresses when ``script`` exists, else :func:`own_problems`.
    """
    module = load_oracle_compare(script)
    if module is not None:
        return oracle_problems(module, expected, actual)
    return own_problems(_parse(expected), _parse(actual))


# ---------------------------------------------------------------------------- our own

_FIELDS = {
    "pci": ("domain", "bus", "slot", "function"),
    "drive": ("controller", "bus", "target", "unit"),
    "virtio-serial": ("controller", "bus", "port"),
    "ccid": ("controller", "slot"),
    "usb": ("bus",),
    "isa": ("iobase",),
    "dimm": ("slot",),
}
_CHARDEVS = {"serial", "console", "channel", "parallel"}
_NO_KIND = {
    "sound", "video", "watchdog", "rng", "memballoon", "tpm", "panic", "iommu", "vsock",
    "smartcard", "shmem", "memory", "nvram", "lease", "hub", "redirdev", "crypto", "audio",
    "graphics", "redirfilter", "emulator",
}  # fmt: skip
_USB_PATH = re.compile(r"\s*\d+(\.\d+)+\s*")
_HEXISH = re.compile(r"(0x)?[0-9a-fA-F]+")


def _parse(path: Path) -> etree._Element:
    return etree.parse(str(path), _PARSER).getroot()


def _number(text: str) -> int | None:
    """The integer libvirt reads (strtoul base 0: 0x.. hex, 0.. octal, else decimal)."""
    s = text.strip()
    try:
        if s[:2].lower() == "0x":
            return int(s, 16)
        if len(s) > 1 and s[0] == "0":
            try:
                return int(s, 8)
            except ValueError:
                return int(s, 10)
        return int(s, 10)
    except ValueError:
        return None


def _address(el: etree._Element) -> dict[str, Any] | None:
    addr = el.find("address")
    if addr is None:
        return None
    out: dict[str, Any] = dict.fromkeys(_FIELDS.get(addr.get("type") or "", ()), 0)
    items = list(addr.attrib.items())
    for child in addr:
        if isinstance(child.tag, str):
            items += [(f"{child.tag}.{k}", v) for k, v in child.attrib.items()]
    for key, value in items:
        if key == "type":
            out[key] = value
        elif key == "multifunction" and value == "off":
            continue
        elif _USB_PATH.fullmatch(value):
            out[key] = ".".join(str(int(p)) for p in value.strip().split("."))
        else:
            n = _number(value)
            if n is None:
                out[key] = value
            elif n != 0 or key in out:
                out[key] = n
    return out


def _kind(el: etree._Element, serial_default: str) -> str | None:
    tag = el.tag
    if tag in _CHARDEVS:
        target = el.find("target")
        ttype = target.get("type") if target is not None else None
        return ttype or {"serial": serial_default, "console": "serial"}.get(tag)
    if tag == "input":
        itype = el.get("type")
        bus = el.get("bus") or ("ps2" if itype in ("mouse", "keyboard") else "usb")
        return f"{itype}/{bus}"
    if tag in _NO_KIND:
        return None
    return el.get("type") or ("mount" if tag == "filesystem" else None)


def _identities(root: etree._Element) -> list[tuple[tuple[Any, ...], etree._Element]]:
    devs = root.find("devices")
    if devs is None:
        return []
    ostype = root.find("os/type")
    arch = (ostype.get("arch") if ostype is not None else None) or "x86_64"
    serial_default = "isa-serial" if arch in ("x86_64", "i686") else "system-serial"
    out: list[tuple[tuple[Any, ...], etree._Element]] = []
    ordinal: dict[tuple[Any, ...], int] = {}
    repeats: dict[tuple[Any, ...], int] = {}
    for el in devs:
        if not isinstance(el.tag, str) or el.tag == "emulator":
            continue
        target = el.find("target")
        key: tuple[Any, ...]
        if el.tag == "controller":
            index = el.get("index")
            model = el.get("model") or ""
            master = el.find("master")
            if model.startswith("ich9-uhci"):
                companion: str | None = model
            elif master is not None:
                companion = f"startport={master.get('startport', '0')}"
            else:
                companion = None
            number = _number(index) if index is not None else None
            key = ("controller", el.get("type"), number, companion)
        elif el.tag == "disk" and target is not None and target.get("dev"):
            key = ("disk", target.get("dev"))
        else:
            group = (el.tag, _kind(el, serial_default))
            ordinal[group] = ordinal.get(group, -1) + 1
            key = (*group, ordinal[group])
        repeat = repeats.get(key, -1) + 1
        repeats[key] = repeat
        out.append(((*key, ("repeat", repeat)) if repeat else key, el))
    return out


def _label(key: tuple[Any, ...]) -> str:
    if isinstance(key[-1], tuple):
        return f"{_label(key[:-1])} (repeat {key[-1][1]})"
    if key[0] == "controller":
        return f"controller {key[1]} index={key[2]}" + (f" companion {key[3]}" if key[3] else "")
    if key[0] == "disk":
        return f"disk {key[1]}"
    tag, kind, n = key
    return f"{tag}[{kind}]#{n}" if kind else f"{tag}#{n}"


def _controller_details(el: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {"model": el.get("model")}
    name = el.find("model")
    out["model name"] = name.get("name") if name is not None else None
    target = el.find("target")
    for k, v in sorted((target.attrib if target is not None else {}).items()):
        out[f"target {k}"] = _number(v) if _HEXISH.fullmatch(v) else v
    return out


def own_problems(expected: etree._Element, actual: etree._Element) -> list[str]:
    """Problems of ``actual`` against ``expected``, by the oracle's rules (details included)."""
    problems: list[str] = []
    exp = _identities(expected)
    act_list = _identities(actual)
    act: dict[tuple[Any, ...], etree._Element] = {}
    for key, el in act_list:
        act[key] = el
        if isinstance(key[-1], tuple):
            problems.append(f"duplicate {_label(key)}: two devices in ACTUAL with this identity")
    exp_keys = set()
    for key, el in exp:
        exp_keys.add(key)
        want = _address(el)
        other = act.get(key)
        got = _address(other) if other is not None else None
        name = _label(key)
        if want is None:
            if other is None and key[0] == "controller":
                problems.append(f"missing {name}: controller absent in ACTUAL")
            elif got is not None:
                problems.append(f"unexpected {name}: got {got}, EXPECTED has no address")
        elif other is None:
            problems.append(f"missing {name}: expected {want}, device absent in ACTUAL")
        elif got is None:
            problems.append(f"missing {name}: expected {want}, no address in ACTUAL")
        elif got != want:
            problems.append(f"different {name}: expected {want}, got {got}")
        if other is not None and key[0] == "controller":
            w, g = _controller_details(el), _controller_details(other)
            diff = sorted(k for k in set(w) | set(g) if w.get(k) != g.get(k))
            if diff:
                problems.append(
                    f"different-model {name}: expected "
                    + "; ".join(f"{k}={w.get(k)}" for k in diff)
                    + ", got "
                    + "; ".join(f"{k}={g.get(k)}" for k in diff)
                )
    for key, el in act_list:
        if key in exp_keys or isinstance(key[-1], tuple):
            continue
        got = _address(el)
        if key[0] != "controller" and got is None:
            continue  # an added device without an address changes no address
        problems.append(f"extra {_label(key)}: {got} (absent in EXPECTED)")
    return problems
