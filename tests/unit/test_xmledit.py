"""Editing helpers: exact output text for small inputs, so layout regressions show."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from virtaddr.xmldoc.xmledit import (
    find_child,
    insert_element,
    insert_laid_out_after,
    insert_next_to,
    new_element,
    new_elements,
    set_address,
    sibling_layout,
)
from virtaddr.xmldoc.xmlio import parse_document, serialize_document

PCI = [
    ("type", "pci"),
    ("domain", "0x0000"),
    ("bus", "0x00"),
    ("slot", "0x03"),
    ("function", "0x0"),
]
PCI_TEXT = '<address type="pci" domain="0x0000" bus="0x00" slot="0x03" function="0x0"/>'


def edit(text: str, change: Callable[[etree._Element], object]) -> str:
    doc = parse_document(text.encode(), "t.xml")
    change(doc.root)
    out = serialize_document(doc).decode()
    # Whatever the edit, the result reads back and writes identically.
    assert serialize_document(parse_document(out.encode(), "t2.xml")).decode() == out
    return out


def device(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path)
    assert found is not None, path
    return found


# ---------------------------------------------------------------------------- set_address


def test_set_address_appends_after_last_child_with_sibling_indent() -> None:
    text = (
        "<domain>\n"
        "  <devices>\n"
        '    <disk type="file">\n'
        '      <target dev="vda"/>\n'
        "    </disk>\n"
        "  </devices>\n"
        "</domain>\n"
    )
    out = edit(text, lambda r: set_address(device(r, "devices/disk"), PCI))
    assert out == (
        "<domain>\n"
        "  <devices>\n"
        '    <disk type="file">\n'
        '      <target dev="vda"/>\n'
        f"      {PCI_TEXT}\n"
        "    </disk>\n"
        "  </devices>\n"
        "</domain>\n"
    )


def test_set_address_on_self_closing_device_uses_document_indent() -> None:
    text = (
        "<domain>\n"
        "    <devices>\n"
        "        <controller type='usb' index='0'/>\n"
        "    </devices>\n"
        "</domain>\n"
    )
    usb = [("type", "pci"), ("domain", "0x0000"), ("bus", "0x00"), ("slot", "0x01")]
    out = edit(text, lambda r: set_address(device(r, "devices/controller"), usb))
    assert out == (
        "<domain>\n"
        "    <devices>\n"
        '        <controller type="usb" index="0">\n'
        '            <address type="pci" domain="0x0000" bus="0x00" slot="0x01"/>\n'
        "        </controller>\n"
        "    </devices>\n"
        "</domain>\n"
    )


def test_set_address_with_tabs() -> None:
    text = "<domain>\n\t<devices>\n\t\t<memballoon model='virtio'/>\n\t</devices>\n</domain>\n"
    out = edit(text, lambda r: set_address(device(r, "devices/memballoon"), PCI))
    assert out == (
        "<domain>\n\t<devices>\n"
        f'\t\t<memballoon model="virtio">\n\t\t\t{PCI_TEXT}\n\t\t</memballoon>\n'
        "\t</devices>\n</domain>\n"
    )


def test_set_address_on_empty_element_with_whitespace_keeps_closing_indent() -> None:
    text = (
        "<domain>\n  <devices>\n"
        "    <watchdog model='i6300esb'>\n    </watchdog>\n"
        "  </devices>\n</domain>"
    )
    out = edit(text, lambda r: set_address(device(r, "devices/watchdog"), PCI))
    assert out == (
        "<domain>\n  <devices>\n"
        f'    <watchdog model="i6300esb">\n      {PCI_TEXT}\n    </watchdog>\n'
        "  </devices>\n</domain>"
    )


def test_set_address_replaces_existing_attributes_in_order_and_keeps_children() -> None:
    text = (
        "<domain>\n"
        "  <devices>\n"
        "    <hostdev>\n"
        "      <address bus='0x05' type='pci' slot='0x1' function='0' extra='x'>\n"
        "        <zpci uid='0x0001' fid='0x00000000'/>\n"
        "      </address>\n"
        "      <driver name='vfio'/>\n"
        "    </hostdev>\n"
        "  </devices>\n"
        "</domain>\n"
    )
    result: list[etree._Element] = []
    out = edit(text, lambda r: result.append(set_address(device(r, "devices/hostdev"), PCI)))
    assert out == (
        "<domain>\n"
        "  <devices>\n"
        "    <hostdev>\n"
        f"      {PCI_TEXT[:-2]}>\n"
        '        <zpci uid="0x0001" fid="0x00000000"/>\n'
        "      </address>\n"
        '      <driver name="vfio"/>\n'
        "    </hostdev>\n"
        "  </devices>\n"
        "</domain>\n"
    )
    assert list(result[0].attrib.keys()) == [name for name, _ in PCI]


def test_set_address_on_one_line_document_stays_on_one_line() -> None:
    text = (
        "<domain><devices><interface type='network'><model type='virtio'/></interface>"
        "</devices></domain>"
    )
    out = edit(text, lambda r: set_address(device(r, "devices/interface"), PCI))
    assert out == (
        '<domain><devices><interface type="network"><model type="virtio"/>'
        f"{PCI_TEXT}</interface></devices></domain>"
    )


def test_set_address_after_trailing_comment() -> None:
    text = (
        "<domain>\n  <devices>\n"
        "    <rng model='virtio'>\n      <!-- note -->\n    </rng>\n"
        "  </devices>\n</domain>\n"
    )
    out = edit(text, lambda r: set_address(device(r, "devices/rng"), PCI))
    assert out == (
        "<domain>\n  <devices>\n"
        f'    <rng model="virtio">\n      <!-- note -->\n      {PCI_TEXT}\n    </rng>\n'
        "  </devices>\n</domain>\n"
    )


def test_set_address_does_not_touch_text_content() -> None:
    text = "<domain>\n  <devices>\n    <thing>text</thing>\n  </devices>\n</domain>\n"
    out = edit(text, lambda r: set_address(device(r, "devices/thing"), PCI))
    assert f"<thing>text{PCI_TEXT}</thing>" in out


def test_set_address_in_default_namespace() -> None:
    ns = "http://example.org/domain"
    text = f'<domain xmlns="{ns}">\n  <devices>\n    <disk/>\n  </devices>\n</domain>\n'
    doc = parse_document(text.encode(), "t.xml")
    disk = doc.root.find(f"{{{ns}}}devices/{{{ns}}}disk")
    assert disk is not None
    address = set_address(disk, PCI)
    assert address.tag == f"{{{ns}}}address"
    out = serialize_document(doc).decode()
    assert f"    <disk>\n      {PCI_TEXT}\n    </disk>\n" in out
    assert out.count("xmlns") == 1
    again = parse_document(out.encode(), "t2.xml")
    assert again.root.find(f"{{{ns}}}devices/{{{ns}}}disk/{{{ns}}}address") is not None


def test_set_address_finds_existing_address_by_namespace_not_prefix() -> None:
    text = (
        "<domain xmlns:x='urn:x'>\n  <devices>\n    <disk>\n"
        "      <x:address slot='9'/>\n    </disk>\n  </devices>\n</domain>\n"
    )
    out = edit(text, lambda r: set_address(device(r, "devices/disk"), PCI))
    assert '<x:address slot="9"/>' in out
    assert f"      {PCI_TEXT}\n    </disk>" in out


# ---------------------------------------------------------------------------- insert_element

DEVICES = (
    "<domain>\n"
    "  <devices>\n"
    "    <emulator>/usr/bin/qemu</emulator>\n"
    "    <disk type='file'/>\n"
    "    <controller type='usb' index='0'/>\n"
    "    <controller type='pci' index='0' model='pcie-root'/>\n"
    "    <interface type='network'/>\n"
    "  </devices>\n"
    "</domain>\n"
)


def root_port() -> etree._Element:
    return new_element(
        "controller",
        [("type", "pci"), ("index", "1"), ("model", "pcie-root-port")],
        [
            new_element("model", [("name", "pcie-root-port")]),
            new_element("target", [("chassis", "1"), ("port", "0x10")]),
            new_element("address", PCI),
        ],
    )


def test_insert_after_last_controller_indents_descendants() -> None:
    out = edit(
        DEVICES, lambda r: insert_element(device(r, "devices"), root_port(), after=("controller",))
    )
    assert out == (
        "<domain>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu</emulator>\n"
        '    <disk type="file"/>\n'
        '    <controller type="usb" index="0"/>\n'
        '    <controller type="pci" index="0" model="pcie-root"/>\n'
        '    <controller type="pci" index="1" model="pcie-root-port">\n'
        '      <model name="pcie-root-port"/>\n'
        '      <target chassis="1" port="0x10"/>\n'
        f"      {PCI_TEXT}\n"
        "    </controller>\n"
        '    <interface type="network"/>\n'
        "  </devices>\n"
        "</domain>\n"
    )


def test_insert_after_first_matching_name_wins() -> None:
    out = edit(
        DEVICES,
        lambda r: insert_element(
            device(r, "devices"), new_element("lease", []), after=("filesystem", "disk")
        ),
    )
    assert '    <disk type="file"/>\n    <lease/>\n    <controller type="usb"' in out


def test_insert_before_when_no_after_matches() -> None:
    out = edit(
        DEVICES,
        lambda r: insert_element(
            device(r, "devices"),
            new_element("hub", [("type", "usb")]),
            after=("hub",),
            before=("video", "interface", "controller"),
        ),
    )
    assert (
        '    <controller type="pci" index="0" model="pcie-root"/>\n'
        '    <hub type="usb"/>\n'
        '    <interface type="network"/>\n'
    ) in out


def test_insert_before_first_child() -> None:
    out = edit(
        DEVICES,
        lambda r: insert_element(
            device(r, "devices"), new_element("first", []), before=("emulator",)
        ),
    )
    assert out.startswith("<domain>\n  <devices>\n    <first/>\n    <emulator>")


def test_insert_at_end_when_nothing_matches() -> None:
    out = edit(
        DEVICES,
        lambda r: insert_element(
            device(r, "devices"), new_element("memballoon", [("model", "virtio")]), after=("x",)
        ),
    )
    assert out.endswith(
        '    <interface type="network"/>\n'
        '    <memballoon model="virtio"/>\n'
        "  </devices>\n</domain>\n"
    )


def test_insert_last_with_children_uses_tabs_of_document() -> None:
    text = "<domain>\n\t<devices>\n\t\t<disk/>\n\t</devices>\n</domain>\n"
    out = edit(text, lambda r: insert_element(device(r, "devices"), root_port()))
    assert out == (
        "<domain>\n\t<devices>\n\t\t<disk/>\n"
        '\t\t<controller type="pci" index="1" model="pcie-root-port">\n'
        '\t\t\t<model name="pcie-root-port"/>\n'
        '\t\t\t<target chassis="1" port="0x10"/>\n'
        f"\t\t\t{PCI_TEXT}\n"
        "\t\t</controller>\n"
        "\t</devices>\n</domain>\n"
    )


def test_insert_into_empty_devices() -> None:
    text = "<domain>\n  <name>x</name>\n  <devices/>\n</domain>\n"
    out = edit(text, lambda r: insert_element(device(r, "devices"), root_port()))
    assert out == (
        "<domain>\n  <name>x</name>\n  <devices>\n"
        '    <controller type="pci" index="1" model="pcie-root-port">\n'
        '      <model name="pcie-root-port"/>\n'
        '      <target chassis="1" port="0x10"/>\n'
        f"      {PCI_TEXT}\n"
        "    </controller>\n"
        "  </devices>\n</domain>\n"
    )


def test_insert_into_default_namespace_adopts_it() -> None:
    ns = "http://example.org/domain"
    text = f'<domain xmlns="{ns}">\n  <devices>\n    <disk/>\n  </devices>\n</domain>\n'
    doc = parse_document(text.encode(), "t.xml")
    devices = doc.root.find(f"{{{ns}}}devices")
    assert devices is not None
    insert_element(devices, root_port(), after=("disk",))
    out = serialize_document(doc).decode()
    assert out.count("xmlns") == 1
    again = parse_document(out.encode(), "t2.xml")
    port = again.root.find(f"{{{ns}}}devices/{{{ns}}}controller/{{{ns}}}target")
    assert port is not None and port.get("chassis") == "1"


def test_insert_with_qemu_namespace_on_root_is_not_confused() -> None:
    text = (
        "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
        "  <devices>\n    <disk/>\n  </devices>\n"
        "  <qemu:commandline/>\n</domain>\n"
    )
    out = edit(
        text,
        lambda r: insert_element(
            device(r, "devices"), new_element("controller", []), after=("disk",)
        ),
    )
    assert "    <disk/>\n    <controller/>\n  </devices>" in out
    assert "xmlns:qemu" in out.splitlines()[0]


def test_find_child_matches_namespace_uri() -> None:
    root = etree.fromstring("<a xmlns='urn:a' xmlns:p='urn:a'><p:b/><c/></a>")
    found = find_child(root, "b")
    assert found is not None and found.tag == "{urn:a}b"
    assert find_child(root, "d") is None


def test_new_element_keeps_attribute_order() -> None:
    elem = new_element("address", list(reversed(PCI)))
    assert list(elem.attrib.keys()) == [name for name, _ in reversed(PCI)]


# ---------------------------------------------------------------------------- new_elements

LAYOUTS = [
    # (the text of <devices>, as a document writes it)
    "<domain>\n  <devices>\n    <disk/>\n    <controller type='usb'/>\n  </devices>\n</domain>\n",
    "<domain>\n\t<devices>\n\t\t<disk/>\n\t\t<controller type='usb'/>\n\t</devices>\n</domain>\n",
    "<domain>\n    <devices>\n        <disk/>\n        <controller/>\n    </devices>\n</domain>",
    "<domain><devices><disk/><controller/></devices></domain>",
    "<domain xmlns='urn:x'>\n <devices>\n  <disk/>\n  <controller/>\n </devices>\n</domain>\n",
]
SPECS = [
    (
        "controller",
        [("type", "pci"), ("index", "1")],
        [
            ("model", [("name", "a")], ()),
            ("target", [("chassis", "1")], ()),
            ("address", PCI, [("zpci", [("uid", "0x0001")], ())]),
        ],
    ),
    ("controller", [("type", "pci"), ("index", "2")], []),
]


def _one_by_one(root: etree._Element) -> None:
    """The element-by-element way new_elements + insert_laid_out_after replaces."""
    devices = device(root, "{*}devices")
    anchor = devices[-1]
    for tag, attrs, children in SPECS:
        elem = new_element(tag, attrs)
        for ctag, cattrs, grandchildren in children:
            child = etree.SubElement(elem, ctag, dict(cattrs))
            for gtag, gattrs, _ in grandchildren:
                etree.SubElement(child, gtag, dict(gattrs))
        insert_next_to(anchor, elem, after=True)
        anchor = elem


def _made_together(root: etree._Element) -> None:
    devices = device(root, "{*}devices")
    layout = sibling_layout(devices)
    namespace = etree.QName(devices).namespace
    anchor = devices[-1]
    for elem in new_elements(SPECS, namespace, layout):
        if layout is None:
            insert_next_to(anchor, elem, after=True)
        else:
            insert_laid_out_after(anchor, elem, layout[0])
        anchor = elem


def test_new_elements_laid_out_as_inserted_one_by_one() -> None:
    for text in LAYOUTS:
        assert edit(text, _made_together) == edit(text, _one_by_one), text


def test_new_elements_escape_values_and_carry_no_source_line() -> None:
    made = new_elements(
        [("a", [("x", 'q"&<\n\t'), ("y", "plain")], [("b", [], [])]), ("c", [], [])], "urn:x"
    )
    assert [etree.QName(e).localname for e in made] == ["a", "c"]
    assert made[0].get("x") == 'q"&<\n\t' and made[0].get("y") == "plain"
    assert all(e.tag.startswith("{urn:x}") for m in made for e in m.iter())
    assert all(e.sourceline is None for m in made for e in m.iter())
    assert new_elements([]) == []
