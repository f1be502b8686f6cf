"""The passes over a domain: defaults, implicit devices, address assignment, write-back."""
