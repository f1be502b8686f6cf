"""virtaddr: a generic device-address allocator and a libvirt domain-XML address pass.

The public API is :mod:`virtaddr.api`, re-exported here: ``virtaddr.assign_xml(...)``,
``virtaddr.check(...)``, ``virtaddr.plan(...)``. The names load on first use, so that
``import virtaddr`` (and ``virtaddr --help``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AssignResult",
    "Assigned",
    "Problem",
    "__version__",
    "assign_element",
    "assign_file",
    "assign_tree",
    "assign_xml",
    "check",
    "plan",
]

if TYPE_CHECKING:
    from virtaddr.api import (
        Assigned,
        AssignResult,
        Problem,
        assign_element,
        assign_file,
        assign_tree,
        assign_xml,
        check,
        plan,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from virtaddr import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
