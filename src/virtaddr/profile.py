"""What a hypervisor supports: machine-type aliases and device models (a *profile*).

virtaddr's passes reproduce libvirt 9.0 with QEMU 7.2; :data:`BUILTIN` describes that QEMU as
libvirt reports it (``virsh capabilities`` / ``virsh domcapabilities`` on Debian 12). A profile
read from a live connection (:func:`virtaddr.live.read_profile`, ``--connect URI``) describes
the hypervisor actually there. Applying a profile to a domain (:meth:`HypervisorProfile.prepare`
before the passes, :meth:`HypervisorProfile.review` after) does what libvirt does with it:

* a machine alias (``pc``, ``q35``) becomes the versioned name it stands for
  (``pc-i440fx-7.2``), as libvirt stores it;
* a device model, bus or type the hypervisor does not offer (a disk bus, a video model, a
  hostdev subsystem type, ...) is reported as a warning naming the device and its line.

Address placement itself is not changed by a profile: the passes follow QEMU 7.2's defaults
(controller models libvirt 9.0 picks are not exposed by its domain capabilities).
This module parses capability XML text with lxml; it never imports libvirt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from virtaddr.libvirt.machine import Machine
from virtaddr.passes.problems import WARNING, Problem

__all__ = [
    "BUILTIN",
    "HypervisorProfile",
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
    ``name`` says where the profile comes from, for messages.
    """

    name: str
    aliases: Mapping[tuple[str, str], str] = field(default_factory=dict)
    models: Mapping[tuple[str, str], Models] = field(default_factory=dict)

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


def _builtin() -> HypervisorProfile:
    """libvirt 9.0.0 + QEMU 7.2 on Debian 12, as ``virsh (dom)capabilities`` reports it."""
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
        name="QEMU 7.2 (built-in)",
        aliases={
            **{(arch, "pc"): "pc-i440fx-7.2" for arch in arches},
            **{(arch, "q35"): "pc-q35-7.2" for arch in arches},
        },
        models={
            **{(arch, "pc"): pc for arch in arches},
            **{(arch, "q35"): q35 for arch in arches},
        },
    )


BUILTIN = _builtin()
"""The profile the passes are written for: libvirt 9.0.0 with QEMU 7.2 (x86 pc and q35)."""
