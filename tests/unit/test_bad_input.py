"""Bad input never hurts: no traceback, only exit 0, 1 or 2, and no partial output.

Mutations of the recorded fixtures (hypothesis) go through ``check`` and ``assign``; hostile
documents (XXE, billion laughs) and broken files (binary, truncated, wrong encoding) are refused
with exit 2; a failed ``--in-place`` leaves the original byte-identical.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from parity import FIXTURES_DIR
from virtaddr.cli import main
from virtaddr.xmldoc import xmlio

SEEDS = sorted(FIXTURES_DIR.glob("*.in.xml"))
_ATTRIBUTE_VALUE = re.compile(rb"""(=\s*)(['"])([^'"]*)\2""")
TRICKY_VALUES = [
    b"", b"0", b"-1", b"0x", b"0x1f", b"0X20", b"09", b"010", b"256", b"0x100", b"4294967296",
    b"99999999999999999999", b" 3 ", b"1.2.3.4.5", b"1..2", b"on", b"maybe", b"pci", b"drive",
    b"usb", b"virtio-serial", b"dimm", b"ccid", b"pcie-root-port", b"&amp;", b"\xc3\xa9",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(SEEDS)).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["value", "truncate", "bytes", "duplicate", "delete"]))
        if kind == "value":
            spots = list(_ATTRIBUTE_VALUE.finditer(data))
            if spots:
                m = draw(st.sampled_from(spots))
                new = draw(st.sampled_from(TRICKY_VALUES))
                data = data[: m.start(3)] + new + data[m.end(3) :]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "bytes":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            lines = data.split(b"\n")
            i = draw(st.integers(0, max(0, len(lines) - 1)))
            if kind == "duplicate":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            data = b"\n".join(lines)
    return data


@given(mutated())
def test_mutated_fixtures_never_crash(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.xml"
        out = Path(tmp) / "out.xml"
        path.write_bytes(data)
        check = main(["check", "--libvirt", "9.0", "--json", str(path)])
        assign = main(["assign", "--libvirt", "9.0", str(path), "-o", str(out)])
        assert check in (0, 1, 2) and assign in (0, 1, 2)
        if assign != 0:
            assert not out.exists(), "nothing is written for a rejected input"
        # check's verdict on errors agrees with assign's: an input assign rejects has an error
        if assign == 1:
            assert check == 1
        if assign == 2:
            assert check == 2
        assert path.read_bytes() == data


XXE = """<?xml version="1.0"?>
<!DOCTYPE domain [ <!ENTITY xxe SYSTEM "{uri}"> ]>
<domain type='qemu'>
  <name>&xxe;</name>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices/>
</domain>
"""


@pytest.mark.parametrize("command", ["check", "assign"])
def test_xxe_is_refused(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(XXE.format(uri=secret.as_uri()))
    assert main([command, str(path)]) == 2
    captured = capsys.readouterr()
    assert "TOP-SECRET" not in captured.out + captured.err
    assert "external entity 'xxe' refused" in captured.out + captured.err


def billion_laughs() -> str:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE domain [", '  <!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lines.append(f'  <!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    lines += ["]>", "<domain type='qemu'><name>&lol9;</name><devices/></domain>"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", ["check", "assign"])
def test_billion_laughs_is_refused(command: str, tmp_path: Path) -> None:
    path = tmp_path / "lol.xml"
    path.write_text(billion_laughs())
    assert main([command, str(path)]) == 2


def _broken_inputs() -> dict[str, bytes]:
    good = (FIXTURES_DIR / "pc-typical.in.xml").read_bytes()
    return {
        "binary": bytes(range(256)) * 4,
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "latin1-declared-utf8": good.replace(b"<name>", b"<name>\xe9\xe8", 1),
        "utf16-without-bom-declared-utf8": good.decode().encode("utf-16-le"),
        "not-a-domain": b"<network><name>n</name></network>\n",
        "deep": b"<domain>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</domain>",
        "unknown-encoding": b'<?xml version="1.0" encoding="klingon"?>\n<domain/>\n',
    }


@pytest.mark.parametrize("name", sorted(_broken_inputs()))
@pytest.mark.parametrize("command", ["check", "assign"])
def test_broken_files_are_unusable(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(_broken_inputs()[name])
    assert main([command, str(path)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert str(path) in captured.out + captured.err


def test_enormous_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xmlio, "MAX_INPUT_BYTES", 1024)
    path = tmp_path / "big.xml"
    path.write_bytes(b"<domain>" + b" " * 2048 + b"</domain>")
    assert main(["check", "--libvirt", "9.0", str(path)]) == 2
    assert main(["assign", "--libvirt", "9.0", str(path)]) == 2


def test_failed_in_place_leaves_the_original_byte_identical(tmp_path: Path) -> None:
    original = (FIXTURES_DIR / "pc-reject-double-use.in.xml").read_bytes()
    path = tmp_path / "rejected.xml"
    path.write_bytes(original)
    assert main(["assign", "--libvirt", "9.0", "--in-place", str(path)]) == 1
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["rejected.xml"]


def test_failed_write_leaves_the_original_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = (FIXTURES_DIR / "pc-typical.in.xml").read_bytes()
    path = tmp_path / "typical.xml"
    path.write_bytes(original)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["assign", "--libvirt", "9.0", "--in-place", str(path)]) == 2
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["typical.xml"], "the temporary file is removed"
