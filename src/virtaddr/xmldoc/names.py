"""Element names with their namespace: ``{uri}name`` as lxml writes a qualified tag.

Elements are found by namespace URI, never by prefix; these are the only places that take a
tag apart.
"""

from __future__ import annotations

__all__ = ["local", "namespace", "ns_prefix"]


def local(tag: object) -> str:
    """The local name of an element tag (``{ns}name`` -> ``name``); ``""`` for a comment or PI.

    >>> local("{urn:x}disk"), local("disk"), local(None)
    ('disk', 'disk', '')
    """
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str | None:
    """The namespace URI of ``tag``, or ``None``.

    >>> namespace("{urn:x}disk"), namespace("disk")
    ('urn:x', None)
    """
    return tag[1 : tag.index("}")] if tag.startswith("{") else None


def ns_prefix(tag: str) -> str:
    """``{uri}`` of ``tag`` (``""`` without a namespace): put before a local name, the tag of an
    element in the same namespace.

    >>> ns_prefix("{urn:x}devices") + "address", ns_prefix("devices") + "address"
    ('{urn:x}address', 'address')
    """
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""
