"""Parsing and writing domain XML: fidelity, safety, errors, atomic writes."""

from __future__ import annotations

import codecs
import http.server
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from virtaddr.errors import UnusableInput
from virtaddr.xmldoc.xmlio import (
    STDIN_NAME,
    Document,
    parse_document,
    read_document,
    safe_parser,
    serialize_document,
    write_atomically,
)

REPO = Path(__file__).resolve().parents[2]
MESSY = REPO / "fixtures" / "messy-roundtrip.xml"


def c14n(data: bytes) -> bytes:
    """C14N 2.0 of ``data`` parsed with the plainest parser (entities as the input has them)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=False)
    return etree.tostring(etree.fromstring(data, parser).getroottree(), method="c14n2")


def roundtrip(data: bytes, source: str = "test.xml") -> bytes:
    return serialize_document(parse_document(data, source))


# ---------------------------------------------------------------------------- round trips


def test_messy_fixture_is_stable_and_c14n_equal() -> None:
    original = MESSY.read_bytes()
    first = roundtrip(original)
    second = roundtrip(first)
    assert second == first
    assert c14n(first) == c14n(original)


def test_messy_fixture_keeps_declaration_comments_pis_cdata_and_namespaces() -> None:
    original = MESSY.read_bytes()
    doc = read_document(str(MESSY))
    assert doc.has_declaration
    assert doc.encoding == "UTF-8"
    assert doc.source == str(MESSY)
    out = serialize_document(doc)
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!--\nWARNING:')
    assert b'-->\n<?virtaddr-test keep="me"?>\n<domain ' in out
    assert b"<![CDATA[raw <b>markup</b> & stuff ]]>" in out
    assert b"&amp;lt;not-an-entity&amp;gt; &amp;#x41;" in out
    assert b"<qemu:commandline>" in out
    assert b'xmlns:app="http://example.org/app/1"' in out
    assert b"<?inner pi?>" in out
    assert b"\t<!-- tab-indented comment -->" in out
    assert out.endswith(b"</domain>\n<!-- trailing comment -->\n")
    assert out.count(b"\n") == original.count(b"\n")


def test_messy_fixture_line_numbers_are_available() -> None:
    doc = read_document(str(MESSY))
    disk = doc.root.find("devices/disk")
    assert disk is not None
    expected = MESSY.read_text().splitlines().index('    <disk type="file" device="disk">') + 1
    assert disk.sourceline == expected  # type: ignore[comparison-overlap]


@pytest.mark.parametrize(
    "data",
    [
        b"<domain>\n  <name>a</name>\n</domain>\n",
        b"<domain>\n  <name>a</name>\n</domain>",
        b"<domain>\n  <name>a</name>\n</domain>\n\n\n",
        b"<domain><name>a</name></domain>",
    ],
)
def test_no_declaration_is_added_and_trailing_whitespace_kept(data: bytes) -> None:
    doc = parse_document(data, "x.xml")
    assert not doc.has_declaration
    assert serialize_document(doc) == data


def test_declaration_is_kept_as_written() -> None:
    data = b"<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n\n<domain/>\n"
    assert roundtrip(data) == data


def test_declaration_without_following_newline() -> None:
    data = b'<?xml version="1.0"?><domain/>'
    assert roundtrip(data) == data


def test_latin1_encoding_is_kept() -> None:
    data = "<?xml version='1.0' encoding='ISO-8859-1'?>\n<domain><name>café</name></domain>\n"
    raw = data.encode("latin-1")
    doc = parse_document(raw, "x.xml")
    assert doc.encoding == "ISO-8859-1"
    assert serialize_document(doc) == raw


def test_characters_the_encoding_lacks_become_references() -> None:
    doc = parse_document(b"<?xml version='1.0' encoding='US-ASCII'?>\n<domain/>\n", "x.xml")
    doc.root.text = "€"
    out = serialize_document(doc)
    assert out == b"<?xml version='1.0' encoding='US-ASCII'?>\n<domain>&#8364;</domain>\n"
    assert c14n(out) == c14n("<domain>€</domain>".encode())


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    raw = bom + "<domain>\n  <name>é</name>\n</domain>\n".encode(codec)
    doc = parse_document(raw, "x.xml")
    assert doc.encoding == "UTF-16"
    assert not doc.has_declaration
    assert serialize_document(doc) == raw


def test_utf8_bom_is_kept() -> None:
    raw = codecs.BOM_UTF8 + b"<domain/>\n"
    assert roundtrip(raw) == raw


def test_crlf_line_ends_are_kept() -> None:
    raw = b'<?xml version="1.0"?>\r\n<!-- c -->\r\n<domain>\r\n  <name>a</name>\r\n</domain>\r\n'
    assert roundtrip(raw) == raw


def test_str_input_is_accepted() -> None:
    doc = parse_document("<?xml version='1.0' encoding='UTF-8'?>\n<domain>é</domain>\n", "s")
    assert doc.root.text == "é"
    assert (
        serialize_document(doc)
        == "<?xml version='1.0' encoding='UTF-8'?>\n<domain>é</domain>\n".encode()
    )


def test_document_defaults_serialise_plainly() -> None:
    tree = etree.fromstring(b"<domain><name>a</name></domain>").getroottree()
    assert serialize_document(Document(tree, "x")) == b"<domain><name>a</name></domain>"


def test_namespaced_domain_root_is_accepted() -> None:
    data = b'<domain xmlns="http://example.org/ns">\n  <devices/>\n</domain>\n'
    assert roundtrip(data) == data


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("data", [b"", b"   \n\t\n", ""])
def test_empty_input_is_unusable(data: bytes | str) -> None:
    with pytest.raises(UnusableInput, match=r"^in\.xml: empty input"):
        parse_document(data, "in.xml")


def test_not_well_formed_says_where_and_why() -> None:
    with pytest.raises(UnusableInput) as info:
        parse_document(b"<domain>\n  <devices>\n</domain>\n", "bad.xml")
    err = info.value
    assert err.exit_code == 2
    assert err.line == 3
    assert str(err).startswith("bad.xml:3: not well-formed XML: ")
    assert "mismatch" in str(err)


def test_root_not_domain_names_it() -> None:
    with pytest.raises(UnusableInput) as info:
        parse_document(b"<network>\n  <name>default</name>\n</network>\n", "net.xml")
    assert str(info.value) == (
        "net.xml:1: the root element is <network>, not <domain>: not a libvirt domain definition"
    )


def test_missing_file_gives_os_reason_without_traceback_chain(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(UnusableInput) as info:
        read_document(str(missing))
    assert str(info.value) == f"{missing}: cannot read: No such file or directory"
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_directory_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="Is a directory"):
        read_document(str(tmp_path))


def test_dash_reads_stdin_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    stream = io.TextIOWrapper(io.BytesIO(b"<domain><name>x</name></domain>"))
    monkeypatch.setattr(sys, "stdin", stream)
    doc = read_document("-")
    assert doc.source == STDIN_NAME
    assert doc.root.findtext("name") == "x"


# ---------------------------------------------------------------------------- safety


def test_parser_configuration() -> None:
    parser = safe_parser()
    root = etree.fromstring(b"<domain><!--c--><?p?><![CDATA[x]]>\n  </domain>", parser)
    assert etree.tostring(root) == b"<domain><!--c--><?p?><![CDATA[x]]>\n  </domain>"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE domain [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<domain><name>&lol9;</name></domain>
"""


def test_billion_laughs_is_not_expanded() -> None:
    # libxml2 >= 2.11 refuses the amplification outright; older ones keep the references.
    try:
        doc = parse_document(BILLION_LAUGHS, "laughs.xml")
    except UnusableInput as exc:
        assert str(exc).startswith("laughs.xml:")
        return
    name = doc.root.find("name")
    assert name is not None
    assert "lol" not in "".join(map(str, name.itertext()))
    out = serialize_document(doc)
    assert len(out) < 2 * len(BILLION_LAUGHS)
    assert b"<name>&lol9;</name>" in out


def test_internal_entity_stays_a_reference() -> None:
    data = b'<!DOCTYPE domain [<!ENTITY who "world">]>\n<domain><name>&who;</name></domain>\n'
    doc = parse_document(data, "ent.xml")
    name = doc.root.find("name")
    assert name is not None
    assert "world" not in "".join(map(str, name.itertext()))
    out = serialize_document(doc)
    assert b"<name>&who;</name>" in out
    assert roundtrip(out) == out


def test_external_file_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<!DOCTYPE domain [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        "<domain><name>&xxe;</name></domain>\n"
    ).encode()
    with pytest.raises(UnusableInput, match="external entity 'xxe' refused") as info:
        parse_document(data, "xxe.xml")
    assert "TOP-SECRET" not in str(info.value)


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY leak "LEAKED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_network_is_never_reached(http_server: tuple[str, list[str]]) -> None:
    url, hits = http_server
    data = (
        f'<!DOCTYPE domain SYSTEM "{url}/external.dtd" [\n'
        f'  <!ENTITY net SYSTEM "{url}/entity">\n'
        f'  <!ENTITY % pe SYSTEM "{url}/parameter.dtd">\n'
        "  %pe;\n"
        "]>\n"
        "<domain><name>&net;</name><title>&leak;</title></domain>\n"
    ).encode()
    try:
        out = serialize_document(parse_document(data, "net.xml"))
    except UnusableInput:
        out = b""  # refusing the document is as safe as keeping the references
    assert hits == []
    assert b"LEAKED" not in out


# ---------------------------------------------------------------------------- atomic writes


def test_write_atomically_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    write_atomically(target, b"one")
    assert target.read_bytes() == b"one"
    write_atomically(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["out.xml"]


def test_write_atomically_new_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "new.xml", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.xml").stat().st_mode) == 0o640


def test_write_atomically_keeps_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "dom.xml"
    target.write_bytes(b"old")
    target.chmod(0o604)
    write_atomically(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.read_bytes() == b"new"


def test_write_atomically_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.xml"
    real.write_bytes(b"old")
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    write_atomically(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_write_atomically_failure_leaves_original_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dom.xml"
    target.write_bytes(b"original")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, b"replacement")
    assert target.read_bytes() == b"original"
    assert sorted(os.listdir(tmp_path)) == ["dom.xml"]


def test_write_atomically_interrupted_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dom.xml"
    target.write_bytes(b"original")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, b"replacement")
    assert target.read_bytes() == b"original"
    assert sorted(os.listdir(tmp_path)) == ["dom.xml"]


def test_write_atomically_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "no" / "such.xml", b"x")


@pytest.mark.parametrize(
    "path", sorted((REPO / "fixtures").glob("*.xml")), ids=lambda path: path.name
)
def test_every_fixture_round_trips(path: Path) -> None:
    original = path.read_bytes()
    first = roundtrip(original, path.name)
    assert roundtrip(first, path.name) == first
    assert c14n(first) == c14n(original)
