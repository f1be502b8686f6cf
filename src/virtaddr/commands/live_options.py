"""``--connect URI`` and ``--verify``: a command's use of a live libvirt (the ``libvirt`` extra).

``--connect URI`` reads the hypervisor's profile (machine aliases, device models, and the
libvirt version whose rules to follow unless ``--libvirt`` is given) from the connection:
machine aliases become versioned names and devices using a model the hypervisor lacks get a
warning. ``--verify`` defines each result under a temporary name on the connection
(``--connect``'s URI, else ``qemu:///system``), checks that libvirt keeps every address, and
undefines it; a difference is exit status 1 and nothing is written. Without libvirt-python both
print how to install it and exit 2.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from virtaddr.commands.common import EXIT_ADDRESS_PROBLEM, EXIT_OK, EXIT_UNUSABLE, source_name

if TYPE_CHECKING:
    import argparse

    from lxml import etree

    from virtaddr.api import Document, HypervisorProfile

__all__ = ["DEFAULT_URI", "LiveOptions", "add_arguments", "from_args"]

DEFAULT_URI = "qemu:///system"

_connections: dict[tuple[int, str], Any] = {}  # per process (a forked worker opens its own)


class LiveOptions:
    """What ``--connect``/``--verify`` asked for; picklable, so that pool workers get it.

    A plain class: ``@dataclass`` would add ~0.5 ms to every ``virtaddr`` process's start-up.
    """

    __slots__ = ("profile", "uri", "verify")

    def __init__(self, uri: str, verify: bool, profile: HypervisorProfile | None) -> None:
        self.uri = uri
        self.verify = verify
        self.profile = profile

    def prepare(self, tree: etree._ElementTree) -> None:
        """Before the passes: machine aliases to the hypervisor's versioned names."""
        if self.profile is not None:
            self.profile.prepare(tree)

    def finish(self, doc: Document, path: str) -> int:
        """After a successful assign: print the profile's warnings, verify; the exit status."""
        if self.profile is not None:
            for warning in self.profile.review(doc.tree, doc.source):
                print(warning.format(), file=sys.stderr)
        if not self.verify:
            return EXIT_OK
        from virtaddr import api, live

        try:
            connection = _connection(self.uri)
            differences = live.verify(self.uri, api.serialize_document(doc), connection)
        except api.VirtaddrError as exc:
            print(f"{source_name(path)}: --verify: {exc}", file=sys.stderr)
            return EXIT_ADDRESS_PROBLEM
        for difference in differences:
            print(f"{source_name(path)}: --verify: libvirt at {self.uri}: {difference}",
                  file=sys.stderr)  # fmt: skip
        return EXIT_ADDRESS_PROBLEM if differences else EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--connect URI`` and ``--verify`` to a command's parser."""
    parser.add_argument(
        "--connect",
        metavar="URI",
        help="read machine aliases and device models from the libvirt at URI, and reproduce its "
        "version unless --libvirt says otherwise (needs libvirt-python: pip install "
        "'virtaddr[libvirt]')",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="define each result under a temporary name at --connect's URI (default "
        f"{DEFAULT_URI}), check that libvirt keeps every address, undefine it",
    )


def from_args(args: argparse.Namespace, command: str) -> tuple[LiveOptions | None, int]:
    """The options asked for (None: neither flag) and EXIT_OK, or None and the exit status
    after printing why they cannot be honoured (libvirt-python missing, no connection)."""
    uri: str | None = getattr(args, "connect", None)
    verify: bool = getattr(args, "verify", False)
    if uri is None and not verify:
        return None, EXIT_OK
    from virtaddr import api, live

    try:
        live.require()
        profile = live.read_profile(uri) if uri is not None else None
        if verify:
            _connection(uri or DEFAULT_URI)
    except api.VirtaddrError as exc:
        flag = "--connect" if uri is not None else "--verify"
        print(f"virtaddr {command}: {flag}: {exc}", file=sys.stderr)
        return None, EXIT_UNUSABLE
    return LiveOptions(uri or DEFAULT_URI, verify, profile), EXIT_OK


def _connection(uri: str) -> Any:
    from virtaddr import live

    key = (os.getpid(), uri)
    if key not in _connections:
        _connections[key] = live.open_connection(uri)
    return _connections[key]
