"""What a hypervisor supports: machine-type aliases and device models (a *profile*).

virtaddr's passes reproduce libvirt 9.0 with QEMU 7.2 and libvirt 11.3 with QEMU 10.0;
:func:`builtin_profile` describes the QEMU of each as libvirt reports it (``virsh capabilities``
/ ``virsh domcapabilities`` on Debian 12 and 13), :data:`BUILTIN` that of the newest. A profile
read from a live connection (:func:`virtaddr.live.read_profile`, ``--connect URI``) describes
the hypervisor actually there. Applying a profile to a domain (:meth:`HypervisorProfile.prepare`
before the passes, :meth:`HypervisorProfile.review` after) does what libvirt does with it:

* a machine alias (``pc``, ``q35``) becomes the versioned name it stands for
  (``pc-i440fx-7.2``), as libvirt stores it;
* a device model, bus or type the hypervisor does not offer (a disk bus, a video model, a
  hostdev subsystem type, ...) is reported as a warning naming the device and its line.

Address placement itself is not changed by a profile: the passes follow the libvirt version's
rules (:mod:`virtaddr.passes.versions`; controller models libvirt picks are not exposed by its
domain capabilities).
This module parses capability XML text with lxml; it never imports libvirt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from virtaddr.libvirt.machine import Machine
from virtaddr.passes.problems import WARNING, Problem
from virtaddr.passes.versions import DEFAULT, RULES, LibvirtRules, rules_for

__all__ = [
    "BUILTIN",
    "HypervisorProfile",
    "builtin_profile",
    "machine_aliases_from_capabilities",
    "models_from_domain_capabilities",
]

Models = Mapping[str, frozenset[str]]
"""``"DEVICE.ENUM"`` (``"disk.bus"``, ``"video.modelType"``) → the values offered."""


@dataclass(frozen=True, slots=True)
class HypervisorProfile:
    """Machine aliases and device models of one hypervisor.

    ``aliases`` maps ``(arch, alias)`` to the versioned machine name; ``models`` maps
    ``(arch, family)`` (family ``"pc"`` or ``"q35"``) to the values each device enum offers.
    ``name`` says where the profile comes from, for messages; ``libvirt_version`` is the
    version of the libvirt that reported it (major, minor, micro), when read from a host.
    """

    name: str
    aliases: Mapping[tuple[str, str], str] = field(default_factory=dict)
    models: Mapping[tuple[str, str], Models] = field(default_factory=dict)
    libvirt_version: tuple[int, int, int] | None = None

    def canonical_machine(self, arch: str, machine: str) -> str:
        """The versioned machine name ``machine`` stands for on ``arch`` (itself if none)."""
        return self.aliases.get((arch, machine), machine)

    def prepare(self, tree: etree._ElementTree) -> None:
        """Replace the domain's machine alias by its versioned name, in place, as libvirt does."""
        os_type = _os_type(tree.getroot())
        if os_type is None:
            return
        arch = os_type.get("arch") or "x86_64"
        machine = os_type.get("machine")
        if machine:
            canonical = self.canonical_machine(arch, machine)
            if canonical != machine:
                os_type.set("machine", canonical)

    def review(self, tree: etree._ElementTree, source: str | None = None) -> list[Problem]:
        """Warnings for every device that uses a model, bus or type the hypervisor lacks."""
        root = tree.getroot()
        os_type = _os_type(root)
        arch = (os_type.get("arch") if os_type is not None else None) or "x86_64"
        machine = (os_type.get("machine") if os_type is not None else None) or ""
        offered = self.models.get((arch, Machine(arch, machine).family))
        devices = root.find("devices")
        if offered is None or devices is None:
            return []
        problems = []
        for element in devices:
            if not isinstance(element.tag, str):
                continue
            for key, value_of in _USES.get(element.tag, ()):
                value = value_of(element)
                allowed = offered.get(key)
                if value is None or allowed is None or value in allowed:
                    continue
                what = key.split(".", 1)[1]
                line = element.sourceline
                problems.append(
                    Problem(
                        WARNING,
                        f"{self.name} does not offer {element.tag} {what} '{value}' "
                        f"(it offers: {', '.join(sorted(allowed)) or 'none'})",
                        line=line if isinstance(line, int) else None,
                        device=element.tag,
                        source=source,
                        code="hypervisor",
                    )
                )
        return problems


def machine_aliases_from_capabilities(xml: str | bytes) -> dict[tuple[str, str], str]:
    """``(arch, alias) → versioned name`` from ``virsh capabilities`` XML (``<machine
    canonical='pc-i440fx-7.2'>pc</machine>`` under ``<guest><arch name='x86_64'>``)."""
    root = etree.fromstring(_bytes(xml), _parser())
    aliases: dict[tuple[str, str], str] = {}
    for arch in root.iterfind("guest/arch"):
        name = arch.get("name") or ""
        for machine in arch.iterfind(".//machine"):
            canonical = machine.get("canonical")
            alias = (machine.text or "").strip()
            if canonical and alias:
                aliases[(name, alias)] = canonical
    return aliases


def models_from_domain_capabilities(xml: str | bytes) -> dict[str, frozenset[str]]:
    """``"DEVICE.ENUM" → values`` from ``virsh domcapabilities`` XML; a device libvirt marks
    ``supported='no'`` offers nothing."""
    root = etree.fromstring(_bytes(xml), _parser())
    models: dict[str, frozenset[str]] = {}
    for device in root.iterfind("devices/*"):
        supported = device.get("supported") != "no"
        for enum in device.iterfind("enum"):
            values = [(v.text or "").strip() for v in enum.iterfind("value")] if supported else []
            models[f"{device.tag}.{enum.get('name')}"] = frozenset(values)
    return models


# ---------------------------------------------------------------------------- internals


def _os_type(root: etree._Element) -> etree._Element | None:
    return root.find("os/type")


def _child_attr(child: str, attr: str) -> Callable[[etree._Element], str | None]:
    def value_of(element: etree._Element) -> str | None:
        found = element.find(child)
        return found.get(attr) if found is not None else None

    return value_of


def _attr(attr: str) -> Callable[[etree._Element], str | None]:
    return lambda element: element.get(attr)


def _subsystem_type(element: etree._Element) -> str | None:
    return element.get("type") if element.get("mode", "subsystem") == "subsystem" else None


_USES: dict[str, tuple[tuple[str, Callable[[etree._Element], str | None]], ...]] = {
    "disk": (("disk.bus", _child_attr("target", "bus")), ("disk.diskDevice", _attr("device"))),
    "video": (("video.modelType", _child_attr("model", "type")),),
    "hostdev": (("hostdev.subsysType", _subsystem_type),),
    "rng": (("rng.model", _attr("model")),),
    "tpm": (("tpm.model", _attr("model")),),
    "graphics": (("graphics.type", _attr("type")),),
    "redirdev": (("redirdev.bus", _attr("bus")),),
}


def _bytes(xml: str | bytes) -> bytes:
    return xml.encode("utf-8") if isinstance(xml, str) else xml


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _builtin(rules: LibvirtRules) -> HypervisorProfile:
    """The QEMU of ``rules`` as its libvirt reports it: libvirt 9.0.0 + QEMU 7.2 (Debian 12),
    libvirt 11.3.0 + QEMU 10.0 (Debian 13), whose x86 device enums the profile reads are the
    same (``virsh domcapabilities`` of both compared)."""
    common = {
        "disk.diskDevice": frozenset({"disk", "cdrom", "floppy", "lun"}),
        "disk.model": frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"}),
        "graphics.type": frozenset({"sdl", "vnc", "spice", "egl-headless", "dbus"}),
        "video.modelType": frozenset(
            {"vga", "cirrus", "vmvga", "qxl", "virtio", "none", "bochs", "ramfb"}
        ),
        "hostdev.mode": frozenset({"subsystem"}),
        "hostdev.startupPolicy": frozenset({"default", "mandatory", "requisite", "optional"}),
        "hostdev.subsysType": frozenset({"usb", "pci", "scsi"}),
        "hostdev.capsType": frozenset(),
        "hostdev.pciBackend": frozenset(),
        "rng.model": frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"}),
        "rng.backendModel": frozenset({"random", "egd", "builtin"}),
        "filesystem.driverType": frozenset({"path", "handle", "virtiofs"}),
        "tpm.model": frozenset({"tpm-tis", "tpm-crb"}),
        "tpm.backendModel": frozenset({"passthrough"}),
        "redirdev.bus": frozenset({"usb"}),
        "channel.type": frozenset({"pty", "unix", "spicevmc"}),
    }
    pc = {**common, "disk.bus": frozenset({"ide", "fdc", "scsi", "virtio", "usb", "sata"})}
    q35 = {**common, "disk.bus": frozenset({"fdc", "scsi", "virtio", "usb", "sata"})}
    arches = ("x86_64", "i686")
    return HypervisorProfile(
        name=f"QEMU {rules.qemu} (built-in)",
        aliases={key: name for key, name in rules.machine_aliases.items() if key[0] in arches},
        models={
            **{(arch, "pc"): pc for arch in arches},
            **{(arch, "q35"): q35 for arch in arches},
        },
    )


_BUILTIN = {version: _builtin(rules) for version, rules in RULES.items()}


def builtin_profile(version: str | None = None) -> HypervisorProfile:
    """The built-in profile of libvirt ``version`` (``"9.0"``: QEMU 7.2; ``"11.3"``: QEMU
    10.0; None: the newest) for x86 pc and q35. Raises :class:`ValueError` for a version
    :mod:`virtaddr.passes.versions` does not know."""
    return _BUILTIN[rules_for(version).version]


BUILTIN = _BUILTIN[DEFAULT]
"""The built-in profile of the newest libvirt virtaddr reproduces (see :func:`builtin_profile`)."""
