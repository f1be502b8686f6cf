"""``check`` under two libvirt versions at once: what changes for a domain on a host upgrade.

A guest's NIC names and disk order follow its addresses, so a template defined again after an
upgrade from libvirt 9.0 to 11.3 may boot differently. :func:`check_versions` checks the
domain under each version (:func:`~virtaddr.checker.check_tree`) and adds a warning

- per device whose address (or, for a controller, model and target) the two versions fill in
  differently, naming both addresses (judged by :func:`~virtaddr.compare.address_differences`,
  the oracle's comparison), and
- per error of a version that rejects a domain the other accepts, in the rejecting version's
  words.

Errors both versions find stay errors.
"""

from __future__ import annotations

import copy

from lxml import etree

from virtaddr.checker import CheckResult, check_tree
from virtaddr.libvirt.device import Device
from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import WARNING, Problem
from virtaddr.passes.versions import LibvirtRules

__all__ = ["ADDRESS_CODE", "REFUSAL_CODE", "check_versions"]

ADDRESS_CODE = "version-address"
"""The code of a warning that the two versions give a device different addresses."""
REFUSAL_CODE = "version-refusal"
"""The code of a warning that one version rejects what the other accepts."""


def check_versions(
    tree: etree._ElementTree,
    *,
    rules: tuple[LibvirtRules, LibvirtRules],
    source: str | None = None,
    schema: bool = False,
) -> CheckResult:
    """Every address problem of the ``<domain>`` in ``tree`` (left unchanged) under both
    versions of ``rules`` (an upgrade's from and to), and what differs between them.

    An error both versions find is an error (one only one of them finds, when both reject,
    names that version); when exactly one version rejects, its errors are warnings naming it;
    when both accept, a warning per device they address differently. Raises
    :class:`ValueError` unless the two versions differ, and
    :class:`~virtaddr.errors.UnusableInput` as :func:`~virtaddr.checker.check_tree` does.
    """
    old, new = rules
    if old.version == new.version:
        raise ValueError(f"two different libvirt versions are needed, not {old.version} twice")
    results = [check_tree(tree, source=source, schema=schema, rules=r) for r in rules]
    rejected = [bool(result.errors) for result in results]
    problems: list[Problem] = []
    if rejected[0] == rejected[1]:
        errors = [result.errors for result in results]
        for (mine, other), version in zip(((0, 1), (1, 0)), rules, strict=True):
            for p in errors[mine]:
                if p in errors[other]:
                    problems.append(p)
                else:  # e.g. another error first (libvirt 11.3's precedence)
                    problems.append(p.replace(message=f"libvirt {version.version}: {p.message}"))
        if not any(rejected):
            problems += _address_differences(tree, source, rules)
    else:
        refusing, accepting = (new, old) if rejected[1] else (old, new)
        for p in results[rejected.index(True)].errors:
            message = (
                f"libvirt {refusing.version} rejects the domain (libvirt {accepting.version} "
                f"accepts it): {p.message}"
            )
            problems.append(p.replace(severity=WARNING, message=message, code=REFUSAL_CODE))
    for result in results:
        problems += result.warnings
    unique = list(dict.fromkeys(problems))
    ordered = sorted(unique, key=lambda p: (not p.is_error, p.line if p.line is not None else 0))
    notes = list(dict.fromkeys(note for result in results for note in result.notes))
    return CheckResult(ordered, notes)


def _address_differences(
    tree: etree._ElementTree, source: str | None, rules: tuple[LibvirtRules, LibvirtRules]
) -> list[Problem]:
    """A warning per device the two versions address differently (both accept the domain)."""
    from virtaddr.compare import address_differences, labelled_devices
    from virtaddr.passes.pipeline import run_pipeline

    original = Domain(tree, source)
    written = {id(dev.elem): dev for devs in original.lists.values() for dev in devs}
    assigned = []
    for r in rules:
        copied = copy.deepcopy(tree)
        # The copies' device elements, paired with the written ones before the pass adds any.
        origin = dict(zip(_devices(copied), _devices(tree), strict=True))
        run_pipeline(copied, source=source, rules=r)
        assigned.append((copied, origin))
    (old_tree, old_origin), (new_tree, new_origin) = assigned
    old_devices = dict(labelled_devices(old_tree))
    new_devices = dict(labelled_devices(new_tree))
    found: dict[str, list[str]] = {}
    for difference in address_differences(old_tree, new_tree):
        head, _, rest = difference.partition(": ")
        what, _, label = head.partition(" ")
        if what == "duplicate":
            continue  # two devices of one identity: the same under both versions
        old_el, new_el = old_devices.get(label), new_devices.get(label)
        if what == "different-model":
            old_text, _, new_text = rest.removeprefix("expected ").partition(", got ")
            found.setdefault(label, []).append(
                f"libvirt {rules[0].version} gives it {old_text}, "
                f"libvirt {rules[1].version} {new_text}"
            )
        else:
            found.setdefault(label, []).insert(
                0, f"{_gives(rules[0], old_el)}, {_gives(rules[1], new_el)}"
            )
    problems = []
    results: dict[int, Domain] = {}  # per side, the result as a domain: devices by name
    for label, messages in found.items():
        side, el = (0, old_devices[label]) if label in old_devices else (1, new_devices[label])
        written_el = (old_origin if side == 0 else new_origin).get(el)
        dev = written.get(id(written_el)) if written_el is not None else None
        if dev is None or dev.tag == "controller":  # a controller's index as libvirt sets it
            if side not in results:
                results[side] = Domain(assigned[side][0], source, lines_known=False)
            name = _device_of(results[side], el).describe()
        else:
            name = dev.describe()
        message = "; ".join(messages)
        if dev is None and label in old_devices and label in new_devices:
            message = f"added by libvirt; {message}"  # no line of the input to name
        line = dev.line if dev is not None else None
        problems.append(Problem(WARNING, message, line, name, source, code=ADDRESS_CODE))
    return problems


def _devices(tree: etree._ElementTree) -> list[etree._Element]:
    devices = tree.getroot().find("devices")
    return [] if devices is None else [el for el in devices if isinstance(el.tag, str)]


def _device_of(domain: Domain, el: etree._Element) -> Device:
    for devs in domain.lists.values():
        for dev in devs:
            if dev.elem is el:
                return dev
    return Device(str(el.tag), el, domain.source, False)


def _gives(rules: LibvirtRules, el: etree._Element | None) -> str:
    """What libvirt ``rules`` makes of the device: its address as XML, none, or no device."""
    if el is None:
        return f"libvirt {rules.version} does not add it"
    address = el.find("address")
    if address is None:
        return f"libvirt {rules.version} gives it no address"
    return f"libvirt {rules.version} gives {_address_text(address)}"


def _address_text(address: etree._Element) -> str:
    """``<address type='pci' .../>`` as written in the result (a ``<zpci>`` child included)."""
    children = "".join(
        f"<{child.tag}{_attributes(child)}/>" for child in address if isinstance(child.tag, str)
    )
    if not children:
        return f"<address{_attributes(address)}/>"
    return f"<address{_attributes(address)}>{children}</address>"


def _attributes(el: etree._Element) -> str:
    return "".join(f" {name!s}='{value!s}'" for name, value in el.attrib.items())
