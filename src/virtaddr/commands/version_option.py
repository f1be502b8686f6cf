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

__all__ = ["add_argument", "from_args", "versions_from_args"]


def add_argument(parser: argparse.ArgumentParser, *, two: bool = False) -> None:
    """Add ``--libvirt VERSION`` to a command's parser; with ``two``, also ``--libvirt A,B``
    (``check``: both, and what differs between them). A command that reproduces one version
    refuses two (exit 2: pick one)."""
    import functools

    from virtaddr.api import DEFAULT, VERSIONS

    command = parser.prog.split()[-1]
    if two:
        text = (
            f"reproduce this libvirt version: {', '.join(VERSIONS)} (default: {DEFAULT}); "
            "'A,B' (e.g. 9.0,11.3, before an upgrade from A to B): both, and a warning per "
            "address that differs or domain only one of them rejects"
        )
    else:
        text = (
            f"reproduce this libvirt version: {', '.join(VERSIONS)} (default: {DEFAULT}; with "
            "--connect, the newest not newer than the host's)"
        )
    parser.add_argument(
        "--libvirt",
        metavar="VERSION",
        type=functools.partial(_versions, command=command, two=two),
        help=text,
    )


def _versions(text: str, *, command: str, two: bool) -> str:
    """``--libvirt``'s value checked: one supported version, or two different ones (``A,B``)
    where ``two`` allows; argparse reports the ``ArgumentTypeError`` (exit 2)."""
    import argparse

    from virtaddr.api import VERSIONS

    asked = text.split(",")
    for version in asked:
        if version not in VERSIONS:  # argparse's own words for a bad choice
            choices = ", ".join(repr(v) for v in VERSIONS)
            raise argparse.ArgumentTypeError(f"invalid choice: {version!r} (choose from {choices})")
    if len(asked) == 1:
        return text
    if not two:
        raise argparse.ArgumentTypeError(
            f"{command} reproduces one libvirt version: pick one of {text.replace(',', ', ')} "
            f"(virtaddr check --libvirt {text} compares them)"
        )
    if len(asked) != 2 or asked[0] == asked[1]:
        raise argparse.ArgumentTypeError(
            f"{text!r}: one version, or two different ones (A,B: before an upgrade from A to B)"
        )
    return text


def versions_from_args(args: argparse.Namespace) -> tuple[str, str] | None:
    """The two versions of ``--libvirt A,B``, or None for one version (see :func:`from_args`)."""
    asked: str | None = getattr(args, "libvirt", None)
    if asked is None or "," not in asked:
        return None
    old, new = asked.split(",")
    return old, new


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
        older = tuple(int(n) for n in rules.version.split(".")) > profile.libvirt_version[:2]
        why = "the oldest supported" if older else "the newest supported not newer than it"
        print(
            f"virtaddr {command}: the host runs libvirt {host}; reproducing libvirt "
            f"{rules.version} ({why}; --libvirt to choose)",
            file=sys.stderr,
        )
    return rules.version
