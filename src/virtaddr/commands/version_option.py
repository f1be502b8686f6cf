"""``--libvirt VERSION``: which libvirt's behaviour a command reproduces.

Without it the newest supported version is used, or with ``--connect URI`` the newest one not
newer than the host's libvirt (one line on standard error says so when that is not the host's
own version). The version travels to pool workers as its name (a string pickles; the rules are
looked up again where they are used).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from virtaddr.api import HypervisorProfile

__all__ = ["add_argument", "from_args"]


def add_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--libvirt VERSION`` to a command's parser."""
    from virtaddr.api import DEFAULT, VERSIONS

    parser.add_argument(
        "--libvirt",
        metavar="VERSION",
        choices=VERSIONS,
        help=f"reproduce this libvirt version: {', '.join(VERSIONS)} (default: {DEFAULT}; with "
        "--connect, the newest not newer than the host's)",
    )


def from_args(
    args: argparse.Namespace, command: str, profile: HypervisorProfile | None = None
) -> str | None:
    """The version asked for: ``--libvirt``, else the one fitting the host of ``profile`` (a
    ``--connect`` profile), else None (the newest, chosen where the rules are used)."""
    asked: str | None = getattr(args, "libvirt", None)
    if asked is not None:
        return asked
    if profile is None or profile.libvirt_version is None:
        return None
    from virtaddr.api import rules_for_host  # not before a run needs it

    rules, exact = rules_for_host(profile.libvirt_version)
    if not exact:
        host = ".".join(str(n) for n in profile.libvirt_version)
        print(
            f"virtaddr {command}: the host runs libvirt {host}; reproducing libvirt "
            f"{rules.version} (the newest supported not newer than it; --libvirt to choose)",
            file=sys.stderr,
        )
    return rules.version
