"""libvirt 9.0.0's own VMX -> domain XML expectations (the corpus in ../shared).

Each case is converted in the context libvirt's test used: the VMX file lives at
``[datastore] directory/``, the VNC password is formatted (VIR_DOMAIN_XML_SECURE).
A result passes when it equals the expected XML as the corpus README defines it;
``test_vmx2xml_byte_identical`` also requires identical bytes and prints the count.
"""

from __future__ import annotations

import pytest
from lxml import etree

from _corpus import CORPUS, SKIP_REASON, cases, read
from esxnb.errors import ConversionError
from esxnb.vmx import domxml_from_native

VMX_PATH = "[datastore] directory/test.vmx"


def convert(case: dict) -> str:
    return domxml_from_native(
        (CORPUS / case["input"]).read_bytes(),
        vmx_path=VMX_PATH,
        datacenter_path=case["datacenter_path"],
        include_secrets=True,
    )


def _canonical(element: etree._Element) -> tuple:
    """Element name, attributes (any order), text without indentation, children in order."""
    text = (element.text or "").strip() if len(element) else (element.text or "")
    return (
        element.tag,
        sorted(element.attrib.items()),
        text,
        [_canonical(child) for child in element if isinstance(child.tag, str)],
    )


def xml_equal(a: str, b: str) -> bool:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return _canonical(etree.fromstring(a.encode(), parser)) == _canonical(
        etree.fromstring(b.encode(), parser)
    )


@pytest.mark.parametrize("case", cases("vmx2xml"))
def test_vmx2xml(case):
    if case["should_fail"]:
        with pytest.raises(ConversionError) as info:
            convert(case)
        message = str(info.value)
        assert "VMX entry '" in message and "does not exist" in message, message
        return
    result = convert(case)
    expected = read(case["expected"])
    assert xml_equal(result, expected), f"{case['name']}:\n{result}"


def test_vmx2xml_byte_identical(capsys):
    params = cases("vmx2xml")
    if params[0].values[0] is None:
        pytest.skip(SKIP_REASON)
    compared = [p.values[0] for p in params if not p.values[0]["should_fail"]]
    identical = [c["name"] for c in compared if convert(c) == read(c["expected"])]
    with capsys.disabled():
        print(
            f"\nvmx2xml: {len(identical)}/{len(compared)} byte-identical to libvirt 9.0.0 ({len(params)} cases)"
        )
    assert len(identical) == len(compared), sorted({c["name"] for c in compared} - set(identical))


def test_xml_equal_is_strict_where_the_readme_says():
    a = "<a x='1' y='2'>\n  <b>t</b>\n</a>\n"
    assert xml_equal(a, '<a y="2" x="1"><b>t</b></a>')
    assert not xml_equal(a, "<a x='1' y='2'><b>t </b></a>")
    assert not xml_equal(a, "<a x='1' y='3'><b>t</b></a>")
    assert not xml_equal("<a><b/><c/></a>", "<a><c/><b/></a>")
