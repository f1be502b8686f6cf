"""libvirt behaviours virtaddr missed on other projects' XML and random domains (issue 17).

Each expected answer is both daemons' (``../shared/oracle/libvirt-assign --libvirt 9.0|11.3``
on the same input); the 9.0 answers are also fixtures (``fixtures/spapr-vio-*``,
``fixtures/memory-*``).
"""

from __future__ import annotations

import pytest
from lxml import etree

from virtaddr import api


def domain(devices: str, machine: str = "pc", arch: str = "x86_64", extra: str = "") -> str:
    return (
        "<domain type='qemu'><name>m</name><memory>1048576</memory>\n"
        f"{extra}<os><type arch='{arch}' machine='{machine}'>hvm</type></os>\n"
        f"<devices><emulator>/usr/bin/qemu-system-{arch}</emulator>\n{devices}\n"
        "<memballoon model='none'/></devices></domain>"
    )


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_spapr_vio_gets_its_reg_on_x86_too(version: str) -> None:
    """Both daemons: an interface with an empty spapr-vio address on pc gets reg 0x1000, an
    ibmvscsi controller without an address a spapr-vio one at 0x2000."""
    xml = domain(
        "<interface type='user'><address type='spapr-vio'/></interface>"
        "<controller type='scsi' index='0' model='ibmvscsi'/>"
    )
    result = api.assign_xml(xml, libvirt=version)
    assert result.xml is not None, result.problems
    root = etree.fromstring(result.xml.encode())
    net = root.find("devices/interface/address")
    scsi = root.find("devices/controller[@type='scsi']/address")
    assert net is not None and scsi is not None
    assert (net.get("type"), int(net.get("reg", "0"), 16)) == ("spapr-vio", 0x1000)
    assert (scsi.get("type"), int(scsi.get("reg", "0"), 16)) == ("spapr-vio", 0x2000)


MAX_MEMORY = "<maxMemory slots='1' unit='KiB'>16777216</maxMemory>"
NUMA = "<cpu><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>"
DIMM = "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>"
VIRTIO_MEM = (
    "<memory model='virtio-mem'><target><size unit='KiB'>524288</size><node>0</node>"
    "<block unit='KiB'>2048</block><requested unit='KiB'>0</requested></target></memory>"
)


def messages(result: api.Assigned[str]) -> list[str]:
    return [p.message for p in result.problems]


def test_memory_devices_of_every_model_count_against_the_slots_in_9_0_only() -> None:
    xml = domain(DIMM + VIRTIO_MEM, machine="q35", extra=MAX_MEMORY + NUMA)
    assert messages(api.assign_xml(xml, libvirt="9.0")) == [
        "memory device count '2' exceeds slots count '1'"
    ]
    result = api.assign_xml(xml, libvirt="11.3")  # counts dimm and nvdimm only
    assert result.xml is not None, result.problems
    root = etree.fromstring(result.xml.encode())
    kinds = [m.find("address").get("type") for m in root.iterfind("devices/memory")]  # type: ignore[union-attr]
    assert kinds == ["dimm", "pci"]


def test_memory_hotplug_without_numa_refused_by_9_0_only() -> None:
    xml = domain("", machine="q35", extra=MAX_MEMORY)
    assert messages(api.assign_xml(xml, libvirt="9.0")) == [
        "At least one numa node has to be configured when enabling memory hotplug"
    ]
    assert api.assign_xml(xml, libvirt="11.3").ok  # 11.3 adds a NUMA node itself
    ppc64 = domain("", machine="pseries", arch="ppc64", extra=MAX_MEMORY)
    assert api.assign_xml(ppc64, libvirt="9.0").ok


def test_max_memory_without_slots_refused_by_9_0_only() -> None:
    xml = domain(
        VIRTIO_MEM, machine="q35", extra=MAX_MEMORY.replace("slots='1'", "slots='0'") + NUMA
    )
    assert messages(api.assign_xml(xml, libvirt="9.0")) == [
        "both maximum memory size and memory slot count must be specified"
    ]
    assert api.assign_xml(xml, libvirt="11.3").ok


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_pseries_serial_gets_its_console_before_virtio_consoles(version: str) -> None:
    """Both daemons: a serial console is inserted first, sharing serial 0's spapr-vio reg."""
    xml = domain(
        "<console type='pty'><target type='virtio'/></console><serial type='pty'/>",
        machine="pseries",
        arch="ppc64",
    )
    result = api.assign_xml(xml, libvirt=version)
    assert result.xml is not None, result.problems
    root = etree.fromstring(result.xml.encode())
    consoles = {
        c.find("target").get("type"): c.find("address")  # type: ignore[union-attr]
        for c in root.iterfind("devices/console")
    }
    assert set(consoles) == {"virtio", "serial"}
    assert consoles["virtio"] is None
    serial_console = consoles["serial"]
    assert serial_console is not None
    assert (serial_console.get("type"), int(serial_console.get("reg", "0"), 16)) == (
        "spapr-vio",
        0x30000000,
    )


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_pcie_expander_bus_on_arm_virt_only(version: str) -> None:
    """Both daemons: accepted on ARM virt (a root port on it, a disk on that), refused on
    RISC-V virt; a pci-expander-bus only on i440fx."""
    devices = (
        "<controller type='pci' index='1' model='pcie-expander-bus'/>"
        "<controller type='pci' index='2' model='pcie-root-port'>"
        "<address type='pci' bus='1' slot='0'/></controller>"
        "<disk type='file' device='disk'><source file='/tmp/a.img'/>"
        "<target dev='vda' bus='virtio'/></disk>"
    )
    result = api.assign_xml(domain(devices, machine="virt", arch="aarch64"), libvirt=version)
    assert result.xml is not None, result.problems
    disk = etree.fromstring(result.xml.encode()).find("devices/disk/address")
    assert disk is not None and int(disk.get("bus", "0"), 16) == 2
    riscv = domain(
        "<controller type='pci' index='1' model='pcie-expander-bus'/>", "virt", "riscv64"
    )
    assert messages(api.assign_xml(riscv, libvirt=version)) == [
        "pcie-expander-bus controllers are not supported with this machine type"
    ]
    pxb = domain("<controller type='pci' index='1' model='pci-expander-bus'/>", "virt", "aarch64")
    assert messages(api.assign_xml(pxb, libvirt=version)) == [
        "pci-expander-bus controllers are only supported on 440fx-based machinetypes"
    ]


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_s390_usb_controller_with_an_address_keeps_no_model(version: str) -> None:
    """Both daemons: s390's QEMU has no piix3-uhci, so a USB controller without a model but
    with an address is stored without one (still a PCI device: slot 1, zPCI uid 1)."""
    xml = domain(
        "<controller type='usb' index='0'><address type='pci'/></controller>",
        machine="s390-ccw-virtio",
        arch="s390x",
    )
    result = api.assign_xml(xml, libvirt=version)
    assert result.xml is not None, result.problems
    usb = etree.fromstring(result.xml.encode()).find("devices/controller[@type='usb']")
    assert usb is not None and usb.get("model") is None
    address = usb.find("address")
    assert address is not None and int(address.get("slot", "0"), 16) == 1


@pytest.mark.parametrize(
    ("arch", "machine", "model", "refused_by"),
    [
        ("ppc", "mac99", "qxl", {"9.0", "11.3"}),
        ("ppc64", "pseries", "ramfb", {"9.0", "11.3"}),
        ("s390x", "s390-ccw-virtio", "vga", {"9.0", "11.3"}),
        ("aarch64", "virt", "vmvga", {"11.3"}),  # QEMU 7.2's aarch64 binary still had it
        ("aarch64", "virt", "virtio", set()),
        ("x86_64", "pc", "qxl", set()),
    ],
)
@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_video_models_the_architectures_qemu_lacks(
    arch: str, machine: str, model: str, refused_by: set[str], version: str
) -> None:
    """Both daemons, every model asked on each architecture."""
    xml = domain(f"<video><model type='{model}'/></video>", machine=machine, arch=arch)
    wanted = [f"domain configuration does not support video model '{model}'"]
    assert messages(api.assign_xml(xml, libvirt=version)) == (
        wanted if version in refused_by else []
    )
