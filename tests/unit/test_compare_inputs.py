"""``virtaddr.compare.address_differences`` takes a domain in every form the API takes one."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from virtaddr.compare import address_differences
from virtaddr.errors import UnusableInput

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LIBVIRT = FIXTURES / "q35-typical.out.xml"  # libvirt's addresses
MOVED = LIBVIRT.read_bytes().replace(b"slot='0x01'", b"slot='0x11'", 1)


def forms(data: bytes, tmp_path: Path, name: str) -> dict[str, object]:
    path = tmp_path / name
    path.write_bytes(data)
    root = etree.fromstring(data)
    return {
        "text": data.decode("utf-8"),
        "bytes": data,
        "path": path,
        "element": root,
        "tree": root.getroottree(),
    }


@pytest.mark.parametrize("form", ["text", "bytes", "path", "element", "tree"])
def test_every_form_gives_the_same_answer(tmp_path: Path, form: str) -> None:
    assert LIBVIRT.read_bytes() != MOVED
    expected = forms(LIBVIRT.read_bytes(), tmp_path, "expected.xml")[form]
    actual = forms(MOVED, tmp_path, "actual.xml")[form]
    reference = address_differences(etree.parse(str(LIBVIRT)).getroot(), etree.fromstring(MOVED))
    assert reference  # the moved slot
    assert address_differences(expected, actual) == reference  # type: ignore[arg-type]
    assert address_differences(expected, expected) == []  # type: ignore[arg-type]


def test_forms_mix(tmp_path: Path) -> None:
    path = tmp_path / "d.xml"
    path.write_bytes(LIBVIRT.read_bytes())
    assert address_differences(path, LIBVIRT.read_text()) == []
    assert address_differences(etree.parse(str(LIBVIRT)), LIBVIRT.read_bytes()) == []


def test_elements_are_not_changed() -> None:
    root = etree.fromstring(MOVED)
    before = etree.tostring(root)
    address_differences(LIBVIRT.read_bytes(), root)
    assert etree.tostring(root) == before


def test_text_that_is_not_a_domain_is_unusable() -> None:
    with pytest.raises(UnusableInput, match=r"<actual>.*not well-formed"):
        address_differences(LIBVIRT.read_text(), "<domain")
    with pytest.raises(UnusableInput, match="not <domain>"):
        address_differences("<network/>", LIBVIRT.read_text())


def test_a_str_is_text_not_a_path(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="not well-formed"):
        address_differences(str(LIBVIRT), LIBVIRT.read_text())


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError, match="not int"):
        address_differences(1, LIBVIRT.read_text())  # type: ignore[arg-type]
