"""The one place that reads domain XML, and lxml's serialisation of it.

Parsing uses one safe configuration (:func:`safe_parser`): comments, processing instructions and
CDATA are kept, entities are never expanded, nothing is loaded from the network or a DTD, and
blank text stays as written so that a parse-and-write changes only what a pass changed. The
:class:`Document` keeps the text it was parsed from: the outputs are that text with the changes
spliced in (:mod:`virtaddr.xmldoc.splice`); :func:`serialize_document` is what a document
without it, or whose changes cannot be spliced, is written with.

A parse-and-write is not byte-identical to hand-written XML (lxml writes attribute values in
double quotes and may move ``xmlns:`` declarations) but it is *stable* — a second round trip
changes nothing — and canonical-XML (C14N 2.0) equal to the input. What libxml2 would otherwise
lose is put back by :func:`serialize_document`: the XML declaration exactly as written (only if
there was one), a byte-order mark, CRLF line ends, the whitespace after the last node, and one
line per top-level node (libvirt's own files start with a comment above ``<domain>``).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import stat
import sys

from lxml import etree

from virtaddr.errors import UnusableInput

__all__ = [
    "STDIN_NAME",
    "Document",
    "parse_document",
    "parse_root",
    "read_document",
    "read_input",
    "safe_parser",
    "serialize_document",
    "write_atomically",
]

STDIN_NAME = "<stdin>"
"""The source name of a document read from standard input."""
MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Inputs larger than this are refused (a domain definition is a few kilobytes)."""

_DECLARATION = re.compile(r"<\?xml\s[^>]*?\?>\s*")
_ENCODING_IN_DECLARATION = re.compile(r"""\bencoding\s*=\s*(["'])([A-Za-z][\w.:-]*)\1""")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class Document:
    """A parsed domain definition and what is needed to write it back as it came.

    ``tree`` is edited in place by the passes. ``encoding`` is the input's encoding as declared
    (or detected: ``UTF-8``/``UTF-16``); ``has_declaration`` whether the input began with an XML
    declaration. The other fields are serialisation details: ``declaration`` the declaration
    exactly as written with the whitespace after it, ``bom`` the input's byte-order mark,
    ``newline`` its line end, ``trailing`` the whitespace after its last node and ``codec`` the
    Python codec that writes ``encoding`` in the input's byte order (derived when empty).
    ``original`` is the text the tree was parsed from (decoded, without the byte-order mark):
    what :mod:`virtaddr.xmldoc.splice` writes the changes into ("" for a tree made otherwise).
    """

    # A plain class rather than a frozen dataclass: ``@dataclass`` would add ~0.5 ms to every
    # ``virtaddr`` process (P1 in benchmarks/README.md).
    __slots__ = (
        "bom",
        "codec",
        "declaration",
        "encoding",
        "has_declaration",
        "newline",
        "original",
        "source",
        "trailing",
        "tree",
    )
    tree: etree._ElementTree
    source: str
    encoding: str
    has_declaration: bool
    declaration: str
    bom: bytes
    newline: str
    trailing: str
    codec: str
    original: str

    def __init__(
        self,
        tree: etree._ElementTree,
        source: str,
        encoding: str = "UTF-8",
        has_declaration: bool = False,
        declaration: str = "",
        bom: bytes = b"",
        newline: str = "\n",
        trailing: str = "",
        codec: str = "",
        original: str = "",
    ) -> None:
        values = (tree, source, encoding, has_declaration, declaration, bom, newline, trailing)
        for name, value in zip(_DOCUMENT_FIELDS, (*values, codec, original), strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _DOCUMENT_FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Document)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _DOCUMENT_FIELDS)
        return f"Document({fields})"

    @property
    def root(self) -> etree._Element:
        return self.tree.getroot()


_DOCUMENT_FIELDS = (
    "tree",
    "source",
    "encoding",
    "has_declaration",
    "declaration",
    "bom",
    "newline",
    "trailing",
    "codec",
    "original",
)


def safe_parser() -> etree.XMLParser:
    """A new parser in the one safe configuration (lxml parsers must not be shared by threads).

    Entities stay references (no billion laughs, no external entity is read), no DTD is loaded,
    nothing comes from the network, documents beyond libxml2's size limits are refused.
    """
    return etree.XMLParser(
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        remove_blank_text=False,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        collect_ids=False,
    )


def read_document(path_or_dash: str) -> Document:
    """Read and parse the domain XML at ``path_or_dash`` (``-``: the bytes of standard input).

    Raises :class:`UnusableInput` naming the file and the reason when it cannot be read, is not
    well-formed XML or is not a ``<domain>``.
    """
    data, source = read_input(path_or_dash)
    return parse_document(data, source)


def read_input(path_or_dash: str) -> tuple[bytes, str]:
    """The bytes of the file at ``path_or_dash`` (``-``: standard input) and its source name.

    Raises :class:`UnusableInput` when it cannot be read or is larger than
    :data:`MAX_INPUT_BYTES`.
    """
    if path_or_dash == "-":
        source = STDIN_NAME
        try:
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise UnusableInput(f"cannot read: {_os_reason(exc)}", source=source) from None
    else:
        source = path_or_dash
        try:
            with open(path_or_dash, "rb") as stream:
                data = stream.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise UnusableInput(f"cannot read: {_os_reason(exc)}", source=source) from None
    if len(data) > MAX_INPUT_BYTES:
        raise UnusableInput(
            f"too large: more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB", source=source
        )
    return data, source


def parse_document(data: bytes | str, source: str) -> Document:
    """Parse ``data`` (the text of a domain definition) read from ``source`` into a Document.

    A ``str`` is encoded in the encoding its declaration names (UTF-8 without one). Raises
    :class:`UnusableInput` for empty input, XML that is not well-formed and a root element other
    than ``<domain>``.
    """
    if isinstance(data, str):
        data = _encode_text(data, source)
    bom, codec = _sniff(data)
    root = parse_root(data, source, "a <domain> XML document")
    tree = root.getroottree()
    if not isinstance(root.tag, str) or etree.QName(root).localname != "domain":
        raise UnusableInput(
            f"the root element is <{_display_name(root)}>, not <domain>: "
            "not a libvirt domain definition",
            line=root.sourceline if isinstance(root.sourceline, int) else None,
            path=f"/{_display_name(root)}",
            source=source,
        )
    declared = tree.docinfo.encoding or "UTF-8"
    codec = codec or declared
    try:
        text = data[len(bom) :].decode(codec)
    except (LookupError, UnicodeDecodeError) as exc:
        raise UnusableInput(f"cannot decode as {declared}: {exc}", source=source) from None
    match = _DECLARATION.match(text)
    declaration = match.group(0) if match else ""
    body_end = len(text)  # (not text.rstrip(): a copy of the whole text)
    while body_end and text[body_end - 1] in " \t\r\n":
        body_end -= 1
    trailing = text[body_end:]
    crlf = "\r\n" in text and text.count("\n") == text.count("\r\n")
    detected = "UTF-16" if codec.startswith("utf-16") else "UTF-8"
    encoding = declared if match else detected
    return Document(
        tree=tree,
        source=source,
        encoding=encoding,
        has_declaration=bool(match),
        declaration=declaration,
        bom=bom,
        newline="\r\n" if crlf else "\n",
        trailing=trailing,
        codec=codec,
        original=text,
    )


def parse_root(data: bytes, source: str, expected: str) -> etree._Element:
    """The root element of the XML ``data`` read from ``source``, parsed safely.

    Raises :class:`UnusableInput` for empty input (the message says ``expected``), XML that is
    not well-formed and a document that declares an external entity.
    """
    bom, _ = _sniff(data)
    if not data[len(bom) :].strip(b" \t\r\n\x00"):
        raise UnusableInput(f"empty input: expected {expected}", source=source)
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise UnusableInput(
            f"not well-formed XML: {exc.msg}", line=exc.lineno or None, source=source
        ) from None
    _refuse_external_entities(root.getroottree(), source)
    return root


def serialize_document(doc: Document) -> bytes:
    """The whole document as bytes in the input's encoding, laid out as the input was.

    The declaration is written only if the input had one (exactly as it was written), then the
    top-level nodes one per line, then the input's trailing whitespace. Characters the encoding
    cannot represent are written as character references.
    """
    text = _serialize_nodes(doc.tree)
    if doc.newline != "\n":
        text = text.replace("\n", doc.newline)
    text = doc.declaration + text + doc.trailing
    return doc.bom + text.encode(_codec(doc), "xmlcharrefreplace")


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` by ``data`` so that it is never seen half-written.

    The data goes to a temporary file in the same directory, is flushed to disk and renamed over
    ``path``; an existing file's permission bits (and, where allowed, owner) are kept, a new file
    gets the default permissions (umask). A symbolic link is followed: its target is replaced.
    On any failure the original file is untouched, the temporary file removed and the error
    (an ``OSError``) re-raised.
    """
    target = os.path.realpath(os.fspath(path))
    directory, name = os.path.split(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    fd, tmp = _temporary_file(directory, name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            if old is not None:
                os.fchmod(stream.fileno(), stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                    with contextlib.suppress(OSError):
                        os.fchown(stream.fileno(), old.st_uid, old.st_gid)
            else:
                os.fchmod(stream.fileno(), 0o666 & ~_umask())
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


# ---------------------------------------------------------------------------- internals


def _temporary_file(directory: str, name: str) -> tuple[int, str]:
    """A new file ``.NAME.XXXXXXXXXXXX.tmp`` in ``directory``, open for writing, mode 0600: what
    ``tempfile.mkstemp`` makes, without its import (shutil, random, ...: ~5 ms a process)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name in {directory}")


def _serialize_nodes(tree: etree._ElementTree) -> str:
    """The top-level nodes of ``tree``, one per line (lxml alone would run them together)."""
    whole = etree.tostring(tree, encoding="unicode")
    root = tree.getroot()
    preceding = list(root.itersiblings(preceding=True))
    following = list(root.itersiblings())
    if not preceding and not following and not tree.docinfo.doctype:  # type: ignore[attr-defined]
        return whole  # the root alone: nothing to separate (and no second serialisation)
    before = [_node_text(node) for node in reversed(preceding)]
    rest = [_node_text(node) for node in (root, *following)]
    tail = "".join(rest)
    if not whole.endswith(tail):  # pragma: no cover - lxml wrote something unexpected
        return whole
    head = whole[: len(whole) - len(tail)]
    if head == "".join(before):
        return "\n".join([*before, *rest])
    # A DOCTYPE sits among the leading nodes: keep lxml's text for that part.
    return head + ("" if head.endswith("\n") else "\n") + "\n".join(rest)


def _node_text(node: etree._Element) -> str:
    return etree.tostring(node, encoding="unicode", with_tail=False)


def _refuse_external_entities(tree: etree._ElementTree, source: str) -> None:
    """An entity declared with SYSTEM/PUBLIC points outside the document (XXE): refused.

    It is never read (the parser does not resolve entities), but a document that asks for a
    local file or a URL is not a domain definition anyone should feed to libvirt.
    """
    dtd = tree.docinfo.internalDTD
    if dtd is None:
        return
    for entity in dtd.iterentities():  # type: ignore[attr-defined]  # not in lxml-stubs
        if entity.system_url:
            raise UnusableInput(
                f"external entity '{entity.name}' refused: a domain definition must not refer "
                "to other files or URLs",
                line=1,
                source=source,
            )


def _encode_text(text: str, source: str) -> bytes:
    match = _DECLARATION.match(text.lstrip("\ufeff"))
    declared = match and _ENCODING_IN_DECLARATION.search(match.group(0))
    encoding = declared.group(2) if declared else "utf-8"
    try:
        return text.lstrip("\ufeff").encode(encoding)
    except (LookupError, UnicodeEncodeError) as exc:
        raise UnusableInput(f"cannot encode as {encoding}: {exc}", source=source) from None


def _sniff(data: bytes) -> tuple[bytes, str | None]:
    """The byte-order mark of ``data`` and the codec it or the first bytes imply, if any."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return bom, codec
    if data.startswith(b"\x00<\x00"):
        return b"", "utf-16-be"
    if data.startswith(b"<\x00"):
        return b"", "utf-16-le"
    return b"", None


def _codec(doc: Document) -> str:
    if doc.codec:
        return doc.codec
    for bom, codec in _BOMS:
        if doc.bom == bom:
            return codec
    if doc.encoding.upper().replace("_", "-") in {"UTF-16", "UTF16"}:
        return "utf-16-le"  # no BOM and no way to tell: the order libxml2 assumes
    return doc.encoding


def _display_name(elem: etree._Element) -> str:
    if not isinstance(elem.tag, str):
        return str(elem.tag)
    qname = etree.QName(elem)
    prefix = elem.prefix
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (threads may be running)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; not every platform or file system allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
