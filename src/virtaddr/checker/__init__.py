"""``virtaddr check``: every address problem of a domain definition, not only the first.

:func:`check_tree` runs, on the domain as written:

1. the explicit-address pass (:mod:`virtaddr.checker.explicit`): every explicit address of every
   type reserved on the allocator, each problem kept, a collision naming both devices;
2. each ``<address>`` against ``schemas/address.xsd`` (:mod:`virtaddr.checker.schemas`);
3. the real define pipeline on a copy, whose first error is added when the explicit pass did not
   already report a problem on the same device, so every libvirt rejection is covered with
   libvirt's own message;
4. advice (:mod:`virtaddr.checker.advice`): warnings about what libvirt accepts but is a trap;
5. with ``schema=True``, libvirt's RelaxNG over the whole document.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree

from virtaddr.libvirt.domain import Domain
from virtaddr.libvirt.problems import Problem
from virtaddr.passes.versions import LibvirtRules

__all__ = ["CheckResult", "check_tree"]


@dataclass(slots=True)
class CheckResult:
    """The problems of one domain, errors first in document order, and notes about the run."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def check_tree(
    tree: etree._ElementTree,
    *,
    source: str | None = None,
    schema: bool = False,
    rules: LibvirtRules | None = None,
) -> CheckResult:
    """Every address problem of the ``<domain>`` in ``tree`` (which is left unchanged); errors
    as the libvirt version of ``rules`` (:mod:`virtaddr.passes.versions`; default the newest)
    rejects them.

    Raises :class:`~virtaddr.errors.UnusableInput` when the guest's machine is not one the
    passes handle (see :func:`~virtaddr.passes.pipeline.require_supported_guest`).
    """
    from virtaddr.checker.advice import advice, bus_gap_advice, hotplug_advice, misspelt_elements
    from virtaddr.checker.explicit import ExplicitPass
    from virtaddr.checker.schemas import address_problems, relaxng_problems
    from virtaddr.passes import parse_checks
    from virtaddr.passes.pipeline import require_supported_guest, run_pipeline
    from virtaddr.passes.versions import rules_for

    rules = rules or rules_for()
    domain = Domain(tree, source, address_without_type=rules.address_without_type)
    require_supported_guest(domain, source)
    result = CheckResult()
    explicit = ExplicitPass(domain)
    problems = explicit.run()
    problems += parse_checks.every_parse_error(domain, rules)
    parse_lines = {p.line for p in domain.problems if p.line is not None}
    problems += address_problems(domain, skip_lines=parse_lines)

    assigned = copy.deepcopy(tree)
    outcome = run_pipeline(assigned, source=source, rules=rules)
    covered: set[int] = set()
    for p in problems:
        if p.is_error:
            covered |= p.lines
    for p in outcome.problems[:1]:
        if p.line is None or p.line not in covered:
            problems.append(p)
    if outcome.ok:
        problems += hotplug_advice(assigned, domain)
        problems += bus_gap_advice(assigned, explicit)
    problems += advice(explicit)
    problems += misspelt_elements(domain)
    if schema:
        found, note = relaxng_problems(tree, source)
        problems += found
        result.notes.append(note)
    result.problems = _ordered(problems)
    return result


def _ordered(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (not p.is_error, p.line if p.line is not None else 0))
