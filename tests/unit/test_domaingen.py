"""The random domain generator of the differential test draws every kind it promises.

No libvirt needed: this checks the generator's texts only, so that a change to it cannot quietly
stop exercising a kind (the differential test would still pass, on less).
"""

from __future__ import annotations

import re

from hypothesis import Phase, given, settings, strategies as st

from domaingen import FLAVOURS, domains, is_q35

# what the generated inputs must contain, somewhere in a few hundred domains
FEATURES = {
    "explicit drive address": "<address type='drive'",
    "ide disk": "bus='ide'",
    "fdc disk": "bus='fdc'",
    "sata disk": "bus='sata'",
    "scsi disk": "bus='scsi'",
    "scsi hostdev (iscsi)": "protocol='iscsi'",
    "scsi hostdev (adapter)": "<adapter name=",
    "explicit usb port": re.compile(r"<address type='usb' bus='\d+' port="),
    "usb port behind a hub": re.compile(r"port='\d+\.\d+'"),
    "usb bus without port": re.compile(r"<address type='usb' bus='\d+'/>"),
    "hub": "<hub type='usb'",
    "redirdev": "<redirdev",
    "usb disk": "bus='usb'/>",
    "usb hostdev": "type='usb' managed='no'",
    "smartcard": "<smartcard",
    "qemu-xhci ports": re.compile(r"model='qemu-xhci' ports='\d+'"),
    "nec-xhci": "model='nec-xhci'",
    "ich9 set": "model='ich9-ehci1'",
    "second usb controller": re.compile(r"type='usb' index='1'"),
    "virtio-serial controller ports": re.compile(r"type='virtio-serial' index='\d+' ports="),
    "explicit virtio-serial port": re.compile(
        r"type='virtio-serial' controller='\d+' bus='0' port"
    ),
    "partial virtio-serial address": "<address type='virtio-serial'/>",
    "virtio console": "<target type='virtio'/>",
    "serial console": "<target type='serial'/>",
    "dimm": "<memory model='dimm'>",
    "explicit dimm slot": "<address type='dimm'",
    "multifunction": "multifunction='on'",
    "pci-bridge": "model='pci-bridge'",
    "pcie-root-port": "model='pcie-root-port'",
    "address behind a bridge": re.compile(r"bus='0x0[1-9]'"),
    "second video": "<model type='qxl'/>",
}


def _has(text: str, feature: str | re.Pattern[str]) -> bool:
    return bool(feature.search(text)) if isinstance(feature, re.Pattern) else feature in text


def test_generator_draws_every_kind() -> None:
    seen: set[str] = set()
    machines: list[str | None] = []

    # derandomized, and no shrinking to do: this only collects what the generator draws
    @settings(
        max_examples=300, deadline=None, database=None, derandomize=True, phases=[Phase.generate]
    )
    @given(text=st.sampled_from(FLAVOURS).flatmap(lambda f: domains("g", f)))
    def collect(text: str) -> None:
        seen.update(name for name, f in FEATURES.items() if _has(text, f))
        m = re.search(r"machine='([^']*)'", text)
        machines.append(m.group(1) if m else None)

    collect()
    assert sorted(set(FEATURES) - seen) == []
    assert sum(is_q35(m) for m in machines) >= 0.3 * len(machines)
