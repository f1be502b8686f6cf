"""``assign --in-place``, ``--diff`` and ``--check``: the result as minimal edits of the original
file (``--check`` only says whether there are any)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from virtaddr.commands.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    EXIT_WOULD_CHANGE,
    source_name,
    write_file,
    write_stdout,
)

if TYPE_CHECKING:
    from virtaddr.api import Document

IN_PLACE = "in-place"
DIFF = "diff"
CHECK = "check"


def read(path: str) -> tuple[bytes, Document]:
    """The bytes of ``path`` (``-``: standard input) and the document parsed from them."""
    from virtaddr import api

    source = source_name(path)
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as stream:
                data = stream.read()
    except OSError as exc:
        raise api.UnusableInput(f"cannot read: {exc.strerror or exc}", source=source) from None
    return data, api.parse_document(data, source)


def write(doc: Document, original: bytes, path: str, mode: str, *, check: bool = False) -> int:
    """Replace ``path`` by the spliced result (``IN_PLACE``), print the diff (``DIFF``) or
    ``PATH: would change`` when there is one (``CHECK``).

    ``check`` (always with ``CHECK``): EXIT_WOULD_CHANGE rather than EXIT_OK when the result
    differs from ``original``.
    """
    from virtaddr import api

    try:
        result = api.splice_document(doc, original)
    except api.SpliceImpossible as exc:
        # Should not happen for what the passes change; a re-serialised file would be worse.
        print(f"{source_name(path)}: cannot edit the text in place ({exc}); nothing written",
              file=sys.stderr)  # fmt: skip
        return EXIT_UNUSABLE
    changed = EXIT_WOULD_CHANGE if (check or mode == CHECK) and result != original else EXIT_OK
    if mode == DIFF:
        write_stdout(_unified_diff(doc, original, result, source_name(path)).encode("utf-8"))
        return changed
    if mode == CHECK:
        if changed:
            print(f"{source_name(path)}: would change")
        return changed
    if result == original:
        return EXIT_OK
    return write_file(path, result)


def _unified_diff(doc: Document, before: bytes, after: bytes, name: str) -> str:
    import difflib  # only for --diff

    codec = doc.codec or doc.encoding
    old = before[len(doc.bom) :].decode(codec).splitlines(keepends=True)
    new = after[len(doc.bom) :].decode(codec).splitlines(keepends=True)
    before_name, after_name = (
        (name, name) if name.startswith(("/", "<")) else (f"a/{name}", f"b/{name}")
    )
    lines = difflib.unified_diff(old, new, fromfile=before_name, tofile=after_name)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)  # fmt: skip
