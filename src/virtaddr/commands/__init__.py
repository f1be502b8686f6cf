"""One module per command: each has ``add_parser(subparsers)`` and sets ``run``."""

NAMES = ("assign", "plan", "check", "topology")
