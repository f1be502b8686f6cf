"""A domain definition as libvirt holds it: per-kind device lists in libvirt's order."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from virtaddr.errors import UnusableInput
from virtaddr.libvirt.attrs import NO_ADDRESS_TYPE, disk_name_index
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.machine import Machine
from virtaddr.libvirt.problems import ERROR, Problem
from virtaddr.xmldoc.names import local, namespace

# The order in which libvirt visits "all devices" (its device walk).
WALK_ORDER = (
    "disk",
    "net",
    "sound",
    "hostdev",
    "video",
    "controller",
    "smartcard",
    "serial",
    "parallel",
    "channel",
    "console",
    "input",
    "filesystem",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "hub",
    "shmem",
    "tpm",
    "panic",
    "memory",
    "redirdev",
    "iommu",
    "vsock",
)
_TAG_TO_LIST = {t: t for t in WALK_ORDER} | {"interface": "net"}
_LIST_TO_TAG = {"net": "interface"}


class Domain:
    """The devices of one ``<domain>``, in libvirt's list orders, plus the machine.

    ``source`` names the input in every problem found in the domain; ``lines_known=False`` for a
    tree modified in memory, whose source lines would point to no input's (a hotplug's re-run).
    """

    def __init__(
        self,
        tree: etree._ElementTree,
        source: str | None = None,
        *,
        lines_known: bool = True,
        address_without_type: str = NO_ADDRESS_TYPE,
    ) -> None:
        root = tree.getroot()
        if local(root.tag) != "domain":
            raise UnusableInput(
                f"the root element is <{local(root.tag)}>, not <domain>", source=source, line=1
            )
        self.tree = tree
        self.root = root
        self.source = source
        self.lines_known = lines_known
        self.ns = namespace(root.tag)
        os_type = self._find(root, "os", "type")
        arch = os_type.get("arch", "") if os_type is not None else ""
        machine = os_type.get("machine", "") if os_type is not None else ""
        self.machine = Machine(arch or "x86_64", machine)
        self.devices_elem = self._find(root, "devices")
        self.lists: dict[str, list[Device]] = {name: [] for name in WALK_ORDER}
        self.added: list[Device] = []
        # Where a controller libvirt adds goes: appended (libvirt 9.0), or placed as the parser
        # places a written one (libvirt 11.3: virDomainControllerInsert); the run's rules say.
        self.added_controllers_sorted = False
        self.problems: list[Problem] = []  # of the <address> elements, as read
        self._disk_max: dict[str | None, int] = {}  # per bus: highest disk name index so far
        if self.devices_elem is not None:
            self._collect(address_without_type)

    # ---------------------------------------------------------------- parsing
    @staticmethod
    def _find(elem: etree._Element, *path: str) -> etree._Element | None:
        cur: etree._Element | None = elem
        for name in path:
            nxt = None
            if cur is None:
                return None
            for c in cur:
                if local(c.tag) == name:
                    nxt = c
                    break
            cur = nxt
        return cur

    def _collect(self, address_without_type: str) -> None:
        assert self.devices_elem is not None
        counters: dict[str, int] = {}
        iface_hostdevs: list[Device] = []
        lists = self.lists
        problems = self.problems
        source, lines_known = self.source, self.lines_known
        for el in self.devices_elem:
            tag = el.tag
            if tag.__class__ is not str:
                continue  # a comment or a processing instruction
            if tag[0] == "{":
                tag = local(tag)
            name = _TAG_TO_LIST.get(tag)
            if name is None:
                continue
            dev = Device(tag, el, source, lines_known)
            dev.seq = counters[tag] = counters.get(tag, 0) + 1
            found = dev.read_address(address_without_type)
            if found:
                problems.extend(found)
            if name == "disk":
                self.insert_disk(dev)
            elif name == "controller":
                self.insert_controller(dev)
            elif name == "video":
                model = dev.child("model")
                if model is not None and model.get("primary") == "yes":
                    lists["video"].insert(0, dev)
                else:
                    lists["video"].append(dev)
            elif name == "net" and dev.get("type") == "hostdev":
                # libvirt lists it with the hostdevs (first among them), where it is addressed
                iface_hostdevs.append(dev)
            else:
                lists[name].append(dev)
        lists["hostdev"][:0] = iface_hostdevs

    def insert_disk(self, disk: Device) -> None:
        """Insert as libvirt does: before the first disk of its bus with a higher name index."""
        disks = self.lists["disk"]
        target = disk.child("target")
        bus = target.get("bus") if target is not None else None
        index = _index_of_name(target.get("dev") if target is not None else None)
        highest = self._disk_max.get(bus)
        self._disk_max[bus] = index if highest is None else max(highest, index)
        if highest is not None and index >= highest and disks[-1].child_get("target", "bus") == bus:
            disks.append(disk)  # the scan below would put it right after the last disk: O(1)
            return
        insert_at = -1
        for i in range(len(disks) - 1, -1, -1):
            other = disks[i]
            if other.child_get("target", "bus") != bus:
                continue
            if _name_index(other) > index:
                insert_at = i
            elif insert_at == -1:
                insert_at = i + 1
        if insert_at == -1:
            disks.append(disk)
        else:
            disks.insert(insert_at, disk)

    def insert_controller(self, ctrl: Device) -> None:
        """Insert as libvirt does: grouped by type, sorted by index, masters before companions."""
        ctrls = self.lists["controller"]
        # the scan below reads the type of every controller for each one inserted (hundreds of
        # root ports): each controller's type is read once, when it joins the list
        ctype = ctrl.controller_type = ctrl.get("type")
        idx = _controller_index(ctrl)
        is_companion = _is_companion(ctrl)
        insert_at = -1
        # libvirt scans the whole list from its end (no early stop but for an index-less one);
        # the scan is as libvirt's, the checks ordered cheapest first.
        for i in range(len(ctrls) - 1, -1, -1):
            cur = ctrls[i]
            if cur.controller_type != ctype:
                continue
            if idx == -1:
                insert_at = i + 1
                break
            cur_idx = cur.index
            if cur_idx is None:
                cur_idx = _controller_index(cur)
            if cur_idx > idx or (cur_idx == idx and not is_companion and _is_companion(cur)):
                insert_at = i
            elif insert_at == -1:
                insert_at = i + 1
        if insert_at == -1:
            ctrls.append(ctrl)
        else:
            ctrls.insert(insert_at, ctrl)

    # ---------------------------------------------------------------- queries
    def walk(self) -> Iterator[Device]:
        """Every device in libvirt's device-walk order.

        The first console is left out when it is the serial-type copy of the first serial:
        libvirt's address passes skip it (it shares the serial's address).
        """
        skip = self.compat_console()
        for name in WALK_ORDER:
            for dev in self.lists[name]:
                if dev is not skip:
                    yield dev

    def compat_console(self) -> Device | None:
        consoles = self.lists["console"]
        if not consoles or not self.lists["serial"]:
            return None
        if consoles[0].child_get("target", "type") in (None, "serial"):
            return consoles[0]
        return None

    def controllers(self, ctype: str) -> list[Device]:
        return [c for c in self.lists["controller"] if c.get("type") == ctype]

    def controller(self, ctype: str, index: int | None) -> Device | None:
        for c in self.lists["controller"]:
            if c.get("type") == ctype and c.index == index:
                return c
        return None

    def view(self, elem: etree._Element) -> Device:
        """A device over ``elem`` (an element of ``<devices>``), outside the lists."""
        return Device(local(elem.tag), elem, self.source, self.lines_known)

    def error(self, message: str, line: int | None = None) -> Problem:
        """An error about the domain itself (no device), at ``line`` when it is known."""
        return Problem(ERROR, message, line if self.lines_known else None, None, self.source)

    # ---------------------------------------------------------------- changes
    def add_device(self, tag: str, attrs: list[tuple[str, str]], *, append: bool = True) -> Device:
        """A device libvirt adds: appended to its list (a controller inserted by index instead
        when ``added_controllers_sorted``)."""
        dev = Device(tag, None, self.source)
        dev.attrs = list(attrs)
        name = _TAG_TO_LIST[tag]
        if name == "controller":
            dev.controller_type = dev.get("type")
        if append and name == "controller" and self.added_controllers_sorted:
            self.insert_controller(dev)
        elif append:
            self.lists[name].append(dev)
        self.added.append(dev)
        return dev

    def list_tag(self, name: str) -> str:
        return _LIST_TO_TAG.get(name, name)


def _name_index(disk: Device) -> int:
    return _index_of_name(disk.child_get("target", "dev"))


def _index_of_name(dev: str | None) -> int:
    if dev is None:
        return -1
    idx = disk_name_index(dev)
    return -1 if idx is None else idx


def _is_companion(ctrl: Device) -> bool:
    """A USB companion: one with ``<master>``, or an ich9-uhci without it (libvirt gives it the
    model's default master already when it inserts it)."""
    if ctrl.child("master") is not None:
        return True
    return ctrl.get("type") == "usb" and ctrl.get("model") in _ICH9_UHCI


_ICH9_UHCI = ("ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def _controller_index(ctrl: Device) -> int:
    if ctrl.index is not None:
        return ctrl.index
    text = ctrl.get("index")
    if text is None:
        return -1
    try:
        return int(text)
    except ValueError:
        return -1
