"""virtaddr: a generic device-address allocator and a libvirt domain-XML address pass."""

__version__ = "0.1.0"
