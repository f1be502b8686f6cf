"""Controller indexes, default devices and device defaults (libvirt's post-parse stages)."""

from __future__ import annotations

import re

from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.machine import ARM_ARCHES, PPC64_ARCHES, S390_ARCHES, X86_ARCHES
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.versions import LibvirtRules, rules_for

USB2_MODELS = ("ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3")
ROOT_MODELS = ("pci-root", "pcie-root")
_C_INT = re.compile(r"[ \t\n\v\f\r]*([-+]?[0-9]+)", re.ASCII)  # C strtol, base 10, to the end
_NAME_PREFIX_BUS = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"))


def read_controller_indexes(domain: Domain) -> list[Problem]:
    """Parse every controller's ``index`` (``-1`` where absent); report bad values."""
    errors = []
    for c in domain.lists["controller"]:
        c.index, problem = parse_controller_index(c.get("index"))
        if problem is not None:
            errors.append(c.error(problem))
    return errors


def parse_controller_index(text: str | None) -> tuple[int, str | None]:
    """A controller's ``index`` as libvirt reads it (``virXMLPropInt``, base 10, non-negative).

    Returns the index (``-1`` when absent or bad) and libvirt's message for a bad value: C
    ``strtol`` semantics (leading blanks and a sign allowed, nothing after the digits) within a
    C ``int``.
    """
    if text is None:
        return -1, None
    bad = f"Invalid value for attribute 'index' in element 'controller': '{text}'. Expected"
    match = _C_INT.fullmatch(text)
    if match is None or not -(2**31) <= int(match.group(1)) < 2**31:
        return -1, f"{bad} integer value"
    value = int(match.group(1))
    if value < 0:
        return -1, f"{bad} non-negative value"
    return value, None


def add_scsi_hostdev_controllers(domain: Domain) -> None:
    """At parse time libvirt runs virDomainDefMaybeAddHostdevSCSIcontroller after each hostdev,
    over the hostdevs parsed so far (controllers have their models as written then)."""
    hostdevs = domain.lists["hostdev"]
    for n in range(len(hostdevs)):
        maybe_add_hostdev_scsi_controllers(domain, hostdevs[: n + 1], None)


def _is_scsi_hostdev(h: Device) -> bool:
    return (
        h.tag == "hostdev" and h.get("type") == "scsi" and h.get("mode", "subsystem") == "subsystem"
    )


def maybe_add_hostdev_scsi_controllers(
    domain: Domain, hostdevs: list[Device], fallback: str | None
) -> None:
    """libvirt's virDomainDefMaybeAddHostdevSCSIcontroller over ``hostdevs``: SCSI controllers
    0..the highest controller a SCSI hostdev names (no address counts as controller 0), all of
    one model: that of the controller of the last hostdev (in document order) that raised the
    highest index, when that controller exists with a model; else ``fallback``."""
    highest, model = -1, None
    for h in hostdevs:
        if not _is_scsi_hostdev(h):
            continue
        c = h.addr.get("controller", 0) if h.addr_type == "drive" else 0
        if c > highest:
            highest = c
            ref = domain.controller("scsi", c)
            if ref is not None and controller_model(ref) is not None:
                model = controller_model(ref)
    if highest >= 0:
        ensure_controllers(domain, "scsi", range(highest + 1), model or fallback)


def ensure_controllers(
    domain: Domain, ctype: str, indexes: range | list[int], model: str | None
) -> None:
    for i in indexes:
        if domain.controller(ctype, i) is None:
            add_controller(domain, ctype, i, model)


def add_controller(domain: Domain, ctype: str, index: int, model: str | None) -> Device:
    attrs = [("type", ctype), ("index", str(index))]
    dev = domain.add_device("controller", attrs)
    dev.index = index
    if model is not None:
        dev.model = model
    return dev


def fill_controller_indexes(domain: Domain, usb2_resorts: bool = False) -> None:
    """Controllers without ``index`` get the lowest unused one of their type.

    ``usb2_resorts`` (libvirt 11.3): when a USB2 controller other than the first controller
    gets one, every controller is inserted again in list order, as the parser inserts them
    (types grouped, sorted by index).
    """
    ctrls = domain.lists["controller"]
    resort = False
    for pos, c in enumerate(ctrls):
        if c.index != -1:
            continue
        ctype = c.get("type")
        model = c.get("model")
        resort = resort or (usb2_resorts and ctype == "usb" and model in USB2_MODELS and pos > 0)
        if ctype == "usb" and model in USB2_MODELS and pos > 0:
            prev = ctrls[pos - 1]
            if prev.get("type") == "usb" and prev.get("model") in USB2_MODELS:
                pidx = prev.index
                if not any(
                    o is not c
                    and o.get("type") == "usb"
                    and o.get("model") == model
                    and o.index == pidx
                    for o in ctrls
                ):
                    c.index = pidx
                    c.index_dirty = True
                    continue
        used = {o.index for o in ctrls if o.get("type") == ctype}
        i = 0
        while i in used:
            i += 1
        c.index = i
        c.index_dirty = True
    if resort:
        placed = list(ctrls)
        ctrls.clear()
        for c in placed:
            domain.insert_controller(c)


def check_duplicate_indexes(domain: Domain) -> list[Problem]:
    errors = []
    usb = domain.controllers("usb")
    if len(usb) > 1 and any(c.get("model") == "none" for c in usb):
        bad = usb[1] if usb[0].get("model") == "none" else usb[0]
        return [bad.error("Can't add another USB controller: USB is disabled for this domain")]
    seen: dict[tuple[str | None, int | None], Device] = {}
    for c in domain.lists["controller"]:
        key = (c.get("type"), c.index)
        other = seen.get(key)
        if other is not None:
            if (
                key[0] == "usb"
                and controller_model(c) != controller_model(other)
                and (controller_model(c) in USB2_MODELS or controller_model(other) in USB2_MODELS)
            ):
                continue
            errors.append(c.error(f"Multiple '{key[0]}' controllers with index '{key[1]}'"))
        else:
            seen[key] = c
    return errors


def controller_model(c: Device) -> str | None:
    """The controller's model: the one :func:`fill_device_defaults` settled, else as written."""
    model = c.model  # called often by the PCI pass: no attribute read once the model is settled
    return model if model is not None else c.get("model")


def add_default_devices(domain: Domain, rules: LibvirtRules | None = None) -> list[Problem]:
    """USB controller 0, SATA 0 (q35), the PCI root, the memballoon, as libvirt ``rules``'
    version adds them (the newest when None)."""
    errors = check_console_targets(domain)
    if errors:
        return errors
    for c in domain.controllers("usb"):
        if c.get("model") == "none" and c.addr_type is not None:
            c.clear_address()  # libvirt drops it: the address is neither reserved nor stored
    machine = domain.machine
    if not machine.is_x86:
        return add_default_devices_other_arch(domain, rules or rules_for())
    if machine.family == "x86":
        # isapc, microvm, ...: no PCI root (a PCI device fails: "No PCI buses available");
        # USB controller 0 on all but isapc
        if machine.name != "isapc" and domain.controller("usb", 0) is None:
            add_controller(domain, "usb", 0, None)
        _add_memballoon(domain)
        return errors
    q35 = machine.is_q35
    if domain.controller("usb", 0) is None:
        add_controller(domain, "usb", 0, "qemu-xhci" if q35 else "piix3-uhci")
    if q35 and domain.controller("sata", 0) is None:
        add_controller(domain, "sata", 0, None)
    errors += _ensure_pci_root(domain, "pcie-root" if q35 else "pci-root")
    _add_memballoon(domain)
    return errors


def _add_memballoon(domain: Domain) -> None:
    """A virtio memballoon when the domain has none."""
    if not domain.lists["memballoon"]:
        dev = domain.add_device("memballoon", [("model", "virtio")])
        dev.model = "virtio"


def add_itco_watchdog(domain: Domain) -> None:
    """libvirt 11.3's implicit iTCO watchdog of q35 (built into the ICH9 LPC, no address),
    after the watchdogs written, with the first one's action."""
    watchdogs = domain.lists["watchdog"]
    if not domain.machine.is_q35 or any(w.get("model") == "itco" for w in watchdogs):
        return
    action = (watchdogs[0].get("action") if watchdogs else None) or "reset"
    dev = domain.add_device("watchdog", [("model", "itco"), ("action", action)])
    dev.model = "itco"


def check_console_targets(domain: Domain) -> list[Problem]:
    """Only the first console may be of serial type (libvirt's console compat, post-parse, where
    a console without a target type is still of serial type on every architecture)."""
    for console in domain.lists["console"][1:]:
        if console.child_get("target", "type") in (None, "serial"):
            return [console.error("Only the first console can be a serial port")]
    return []


def _ensure_pci_root(domain: Domain, root_model: str) -> list[Problem]:
    """Add the machine's PCI root as index 0, or refuse an index 0 of another model."""
    root = domain.controller("pci", 0)
    if root is None:
        add_controller(domain, "pci", 0, root_model)
        return []
    if controller_model(root) == root_model:
        return []
    return [
        root.error(
            f"The PCI controller with index='0' must be model='{root_model}' for this "
            f"machine type, but model='{controller_model(root)}' was found instead"
        )
    ]


def disk_bus(disk: Device) -> str:
    """The disk's bus: as written in ``<target bus>``, else what its device and name imply."""
    target = disk.child("target")
    bus = target.get("bus") if target is not None else None
    if bus:
        return bus
    if disk.get("device") == "floppy":
        return "fdc"
    dev = (target.get("dev") if target is not None else None) or ""
    for prefix, b in _NAME_PREFIX_BUS:
        if dev.startswith(prefix):
            return b
    return "ide"


def fill_disk_buses(domain: Domain) -> None:
    """Each disk's bus, worked out once: it depends only on the disk's element, which no stage
    changes, so the second round of device defaults (after devices were added) keeps it."""
    for d in domain.lists["disk"]:
        if d.bus is None:
            d.bus = disk_bus(d)


def input_bus(dev: Device, arch: str) -> str | None:
    """An ``<input>``'s bus: as written, else the one libvirt's parser gives it (None: evdev)."""
    bus = dev.get("bus")
    if bus is not None:
        return bus
    itype = dev.get("type")
    if itype in ("mouse", "keyboard") and arch in X86_ARCHES:
        return "ps2"
    if arch in S390_ARCHES or itype == "passthrough":
        return "virtio"
    return None if itype == "evdev" else "usb"


def fill_device_defaults(domain: Domain) -> None:
    """Effective models and buses libvirt chooses in its per-device post-parse."""
    for i in domain.lists["input"]:
        i.bus = input_bus(i, domain.machine.arch)
    if not domain.machine.is_x86:
        fill_device_defaults_other_arch(domain)
        return
    fill_disk_buses(domain)
    for n in domain.lists["net"]:
        n.model = n.child_get("model", "type") or "rtl8139"
    for v in domain.lists["video"]:
        t = v.child_get("model", "type")
        v.model = "cirrus" if t in (None, "default") else t
    for c in domain.lists["controller"]:
        ctype = c.get("type")
        model = controller_model(c)
        if model is None and ctype in ("usb", "scsi"):
            model = "piix3-uhci" if ctype == "usb" else "lsilogic"
            if not c.is_new and model is not None:
                c.model_dirty = True
        c.model = model


def add_implicit_video(domain: Domain) -> None:
    if domain.lists["video"]:
        return
    if _has_graphics(domain):
        model = _DEFAULT_VIDEO.get(domain.machine.family, "cirrus")
        dev = domain.add_device("video", [])
        dev.model = model
        dev.children = [("model", [("type", model)])]


# ---------------------------------------------------------------- other architectures (section 11)

_DEFAULT_VIDEO = {"virt": "virtio", "s390-ccw": "virtio", "pseries": "vga", "ppc64": "vga"}
_DEFAULT_NET = {
    "virt": "virtio",
    "s390-ccw": "virtio",
    "versatilepb": "scm91c111",  # (sic: libvirt's name for the smc91c111 model)
    "vexpress": "lan9118",
    "arm-board": "lan9118",
}
_DEFAULT_SCSI = {"pseries": "ibmvscsi", "s390-ccw": "virtio-scsi"}
# The PCI root libvirt adds, per family (versatilepb: see add_default_devices_other_arch).
_PCI_ROOT = {
    "virt": "pcie-root",
    "pseries": "pci-root",
    "ppc64": "pci-root",
    "ppc": "pci-root",
    "s390-ccw": "pci-root",
}


def default_scsi_model(domain: Domain) -> str:
    """The model libvirt gives a SCSI controller without one (lsilogic on x86 and ARM)."""
    return _DEFAULT_SCSI.get(domain.machine.family, "lsilogic")


def add_default_devices_other_arch(domain: Domain, rules: LibvirtRules) -> list[Problem]:
    """The devices libvirt adds on the other architectures: USB controller 0 (PowerPC; ARM
    versatilepb and realview as the rules say), the PCI root, the memballoon (not on ARM)."""
    machine = domain.machine
    family = machine.family
    errors: list[Problem] = []
    usb_model = {"pseries": "qemu-xhci", "ppc64": "qemu-xhci", "ppc": "piix3-uhci"}.get(family)
    if rules.usb_on_versatilepb_and_realview and (
        family == "versatilepb" or (family == "arm-board" and machine.name.startswith("realview"))
    ):
        usb_model = "pci-ohci"
    if usb_model is not None and domain.controller("usb", 0) is None:
        add_controller(domain, "usb", 0, usb_model)
    root_model = _PCI_ROOT.get(family)
    if family == "versatilepb" and (
        machine.arch == "armv6l" or rules.versatilepb_pci_root_on_every_arm_arch
    ):
        root_model = "pci-root"
    if root_model is not None:
        errors += _ensure_pci_root(domain, root_model)
    if machine.arch not in ARM_ARCHES:
        _add_memballoon(domain)
    if machine.arch in PPC64_ARCHES:
        _add_ppc64_usb_inputs(domain)
    if family == "pseries":
        _add_console_compat_serial(domain)
    return errors


def _has_graphics(domain: Domain) -> bool:
    """Whether ``<devices>`` has a ``<graphics>`` child (in any namespace, or none)."""
    if domain.devices_elem is None:
        return False
    return next(domain.devices_elem.iterchildren("{*}graphics"), None) is not None


def _add_ppc64_usb_inputs(domain: Domain) -> None:
    """With graphics, a USB keyboard and a USB mouse (no mouse when a USB tablet exists)."""
    if not _has_graphics(domain):
        return
    inputs = domain.lists["input"]
    present = {(i.get("type"), input_bus(i, domain.machine.arch)) for i in inputs}
    wanted = ["keyboard"]
    if ("tablet", "usb") not in present:
        wanted.append("mouse")
    for itype in wanted:
        if (itype, "usb") not in present:
            domain.add_device("input", [("type", itype), ("bus", "usb")])


def _add_console_compat_serial(domain: Domain) -> None:
    """A first console of serial type with no serial gets a serial copied from it; a serial
    with no console, or whose first console is of another type (virtio), a console of serial
    type inserted first (parse time); the two then share serial 0's address."""
    consoles = domain.lists["console"]
    serials = domain.lists["serial"]
    first_is_serial = bool(consoles) and consoles[0].child_get("target", "type") in (None, "serial")
    if serials and not first_is_serial:
        console = domain.add_device(
            "console", [("type", serials[0].get("type") or "pty")], append=False
        )
        console.children = [("target", [("type", "serial"), ("port", "0")])]
        consoles.insert(0, console)
        return
    if serials or not consoles:
        return
    console = consoles[0]
    if console.child_get("target", "type") not in (None, "serial"):
        return
    serial = domain.add_device("serial", [("type", console.get("type") or "pty")])
    if console.addr_type is not None:
        serial.set_address(console.addr_type, console.addr)
        serial.addr_dirty = False


def fill_device_defaults_other_arch(domain: Domain) -> None:
    """Effective models and buses on other architectures (their post-parse defaults)."""
    machine = domain.machine
    family = machine.family
    fill_disk_buses(domain)
    for n in domain.lists["net"]:
        n.model = n.child_get("model", "type") or _DEFAULT_NET.get(family, "rtl8139")
    for v in domain.lists["video"]:
        t = v.child_get("model", "type")
        v.model = _DEFAULT_VIDEO.get(family, "cirrus") if t in (None, "default") else t
    for c in domain.lists["controller"]:
        ctype = c.get("type")
        model = controller_model(c)
        if model is None and ctype in ("usb", "scsi"):
            if ctype == "scsi":
                model = _DEFAULT_SCSI.get(family, "lsilogic")
            elif family == "s390-ccw":
                # s390's QEMU has no piix3-uhci: one with an address keeps no model (a PCI one)
                model = "none" if c.addr_type is None else None
            elif machine.arch in PPC64_ARCHES or machine.arch == "aarch64":
                model = "qemu-xhci"
            else:
                model = "piix3-uhci"
            if not c.is_new and model is not None:
                c.model_dirty = True
        c.model = model
