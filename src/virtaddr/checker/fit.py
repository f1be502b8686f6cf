"""Whether each device's address type fits the device, as libvirt 9.0 validates it at define.

The rules live in :mod:`virtaddr.passes.validate` (``assign``'s define pipeline raises them at
libvirt's stage, without importing this package); the messages are libvirt's own, each observed
on the live daemon.
"""

from __future__ import annotations

from virtaddr.passes.validate import address_type_errors

__all__ = ["address_type_errors"]
