"""``assign --in-place``, ``--diff`` and ``--check``: the result (the input's text with the new
text spliced in, as every output is) replacing the file, as a diff against it, or only whether
there is a change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtaddr.commands.common import (
    EXIT_OK,
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


def write(doc: Document, result: bytes, path: str, mode: str, *, check: bool = False) -> int:
    """Replace ``path`` by ``result`` (``IN_PLACE``; untouched when nothing changed), print the
    diff of ``doc``'s original text against it (``DIFF``) or ``PATH: would change`` when there
    is one (``CHECK``).

    ``check`` (always with ``CHECK``): EXIT_WOULD_CHANGE rather than EXIT_OK when the result
    differs from the original.
    """
    codec = doc.codec or doc.encoding
    after = result[len(doc.bom) :].decode(codec)
    changed = EXIT_WOULD_CHANGE if (check or mode == CHECK) and after != doc.original else EXIT_OK
    if mode == DIFF:
        write_stdout(_unified_diff(doc.original, after, source_name(path)).encode("utf-8"))
        return changed
    if mode == CHECK:
        if changed:
            print(f"{source_name(path)}: would change")
        return changed
    if after == doc.original:
        return EXIT_OK
    return write_file(path, result)


def _unified_diff(before: str, after: str, name: str) -> str:
    import difflib  # only for --diff

    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    before_name, after_name = (
        (name, name) if name.startswith(("/", "<")) else (f"a/{name}", f"b/{name}")
    )
    lines = difflib.unified_diff(old, new, fromfile=before_name, tofile=after_name)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)  # fmt: skip
