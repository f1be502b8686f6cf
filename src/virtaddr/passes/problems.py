"""Problems found in a domain definition: :mod:`virtaddr.libvirt.problems`, under the name the
commands, the profiles and callers import (the stages make them in the domain model's layer,
where devices know their source and lines)."""

from __future__ import annotations

from virtaddr.libvirt.problems import ERROR, WARNING, Problem, Related, Severity

__all__ = ["ERROR", "WARNING", "Problem", "Related", "Severity"]
