"""``python -m virtaddr``: the ``virtaddr`` command."""

from virtaddr.cli import entry

if __name__ == "__main__":
    entry()
