"""The libvirt domain model: thin views over the lxml elements of a ``<domain>``."""
