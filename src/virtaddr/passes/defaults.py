"""Controller indexes, default devices and device defaults (libvirt's post-parse stages)."""

from __future__ import annotations

from virtaddr.errors import AddressError
from virtaddr.libvirt.attrs import parse_uint
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain

USB2_MODELS = ("ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3")
ROOT_MODELS = ("pci-root", "pcie-root")
_NAME_PREFIX_BUS = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"))


def read_controller_indexes(domain: Domain) -> list[AddressError]:
    """Parse every controller's ``index`` (``-1`` where absent); report bad values."""
    errors = []
    for c in domain.lists["controller"]:
        text = c.get("index")
        if text is None:
            c.props["index"] = -1
            continue
        value = parse_uint(text, auto_base=False)
        if value is None:
            c.props["index"] = -1
            errors.append(
                c.error(
                    f"Invalid value for attribute 'index' in element 'controller': '{text}'. "
                    "Expected non-negative value"
                )
            )
        else:
            c.props["index"] = value
    return errors


def add_scsi_hostdev_controllers(domain: Domain) -> None:
    """At parse time every SCSI hostdev makes sure SCSI controllers 0..its controller exist."""
    for h in domain.lists["hostdev"]:
        if (
            h.tag != "hostdev"
            or h.get("type") != "scsi"
            or h.get("mode", "subsystem") != "subsystem"
        ):
            continue
        want = h.addr.get("controller", 0) if h.addr_type == "drive" else 0
        ensure_controllers(domain, "scsi", range(want + 1), model=None)


def ensure_controllers(
    domain: Domain, ctype: str, indexes: range | list[int], model: str | None
) -> None:
    for i in indexes:
        if domain.controller(ctype, i) is None:
            add_controller(domain, ctype, i, model)


def add_controller(domain: Domain, ctype: str, index: int, model: str | None) -> Device:
    attrs = [("type", ctype), ("index", str(index))]
    dev = domain.add_device("controller", attrs)
    dev.props["index"] = index
    if model is not None:
        dev.props["model"] = model
    return dev


def fill_controller_indexes(domain: Domain) -> None:
    """Controllers without ``index`` get the lowest unused one of their type."""
    ctrls = domain.lists["controller"]
    for pos, c in enumerate(ctrls):
        if c.props["index"] != -1:
            continue
        ctype = c.get("type")
        model = c.get("model")
        if ctype == "usb" and model in USB2_MODELS and pos > 0:
            prev = ctrls[pos - 1]
            if prev.get("type") == "usb" and prev.get("model") in USB2_MODELS:
                pidx = prev.props["index"]
                if not any(
                    o is not c
                    and o.get("type") == "usb"
                    and o.get("model") == model
                    and o.props["index"] == pidx
                    for o in ctrls
                ):
                    c.props["index"] = pidx
                    c.props["index_dirty"] = True
                    continue
        used = {o.props["index"] for o in ctrls if o.get("type") == ctype}
        i = 0
        while i in used:
            i += 1
        c.props["index"] = i
        c.props["index_dirty"] = True


def check_duplicate_indexes(domain: Domain) -> list[AddressError]:
    errors = []
    usb = domain.controllers("usb")
    if len(usb) > 1 and any(c.get("model") == "none" for c in usb):
        bad = usb[1] if usb[0].get("model") == "none" else usb[0]
        return [bad.error("Can't add another USB controller: USB is disabled for this domain")]
    seen: dict[tuple[str | None, int], Device] = {}
    for c in domain.lists["controller"]:
        key = (c.get("type"), c.props["index"])
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
    return c.props.get("model", c.get("model"))


def add_default_devices(domain: Domain) -> list[AddressError]:
    """USB controller 0, SATA 0 (q35), the PCI root, the memballoon."""
    errors: list[AddressError] = []
    q35 = domain.machine.is_q35
    if domain.controller("usb", 0) is None:
        add_controller(domain, "usb", 0, "qemu-xhci" if q35 else "piix3-uhci")
    if q35 and domain.controller("sata", 0) is None:
        add_controller(domain, "sata", 0, None)
    root_model = "pcie-root" if q35 else "pci-root"
    root = domain.controller("pci", 0)
    if root is None:
        add_controller(domain, "pci", 0, root_model)
    elif controller_model(root) != root_model:
        errors.append(
            root.error(
                f"The PCI controller with index='0' must be model='{root_model}' for this "
                f"machine type, but model='{controller_model(root)}' was found instead"
            )
        )
    balloons = domain.lists["memballoon"]
    if not balloons:
        dev = domain.add_device("memballoon", [("model", "virtio")])
        dev.props["model"] = "virtio"
    return errors


def disk_bus(disk: Device) -> str:
    bus = disk.child_get("target", "bus")
    if bus:
        return bus
    if disk.get("device") == "floppy":
        return "fdc"
    dev = disk.child_get("target", "dev") or ""
    for prefix, b in _NAME_PREFIX_BUS:
        if dev.startswith(prefix):
            return b
    return "ide"


def fill_device_defaults(domain: Domain) -> None:
    """Effective models and buses libvirt chooses in its per-device post-parse."""
    for d in domain.lists["disk"]:
        d.props["bus"] = disk_bus(d)
    for n in domain.lists["net"]:
        n.props["model"] = n.child_get("model", "type") or "rtl8139"
    for v in domain.lists["video"]:
        t = v.child_get("model", "type")
        v.props["model"] = "cirrus" if t in (None, "default") else t
    for c in domain.lists["controller"]:
        ctype = c.get("type")
        model = c.props.get("model", c.get("model"))
        if model is None and ctype in ("usb", "scsi"):
            model = "piix3-uhci" if ctype == "usb" else "lsilogic"
            if not c.is_new:
                c.props["model_dirty"] = True
        c.props["model"] = model


def add_implicit_video(domain: Domain) -> None:
    if domain.lists["video"]:
        return
    if domain.devices_elem is None:
        return
    if any(el.tag == "graphics" or str(el.tag).endswith("}graphics") for el in domain.devices_elem):
        dev = domain.add_device("video", [])
        dev.props["model"] = "cirrus"
        dev.children = [("model", [("type", "cirrus")])]
