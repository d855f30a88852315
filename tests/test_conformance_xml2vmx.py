"""libvirt 9.0's own xml2vmx test pairs: domain XML in, the VMX virsh writes out.

Each case must match by the corpus README's rule (the same ``key = "value"`` entries,
keys case-insensitive); the byte-identical count is reported at the end of the module
and ``test_every_case_is_byte_identical`` holds it at 100%.
"""

from __future__ import annotations

import pytest

from esxnb.errors import ConversionError
from esxnb.vmx import domxml_to_native, parse_vmx
from _corpus import cases, read

CASES = cases("xml2vmx")
_identical: dict[str, bool] = {}


def _entries(vmx_text: str) -> list[tuple[str, str]]:
    return sorted((key.lower(), value) for key, value in parse_vmx(vmx_text).items())


def _convert(case: dict) -> str:
    return domxml_to_native(read(case["input"]), virtual_hw_version=case["virtual_hw_version"])


@pytest.fixture(scope="module", autouse=True)
def _report_identical(request: pytest.FixtureRequest):
    yield
    if _identical:
        plugins = request.config.pluginmanager
        reporter = plugins.get_plugin("terminalreporter")
        capture = plugins.get_plugin("capturemanager")
        line = f"xml2vmx conformance: {sum(_identical.values())}/{len(_identical)} cases byte-identical to libvirt"
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                reporter.write_line(line)


@pytest.mark.parametrize("case", CASES)
def test_case_matches(case: dict) -> None:
    if case["should_fail"]:
        with pytest.raises(ConversionError) as info:
            _convert(case)
        assert str(info.value).strip(), "a refused conversion must say why"
        return
    expected = read(case["expected"])
    got = _convert(case)
    _identical[case["name"]] = got == expected
    assert _entries(got) == _entries(expected)


@pytest.mark.parametrize("case", CASES)
def test_case_is_deterministic(case: dict) -> None:
    if case["should_fail"]:
        pytest.skip("refused conversion")
    assert _convert(case) == _convert(case)


def test_every_case_is_byte_identical() -> None:
    real = [c for c in CASES if c.values and c.values[0] is not None and not c.values[0]["should_fail"]]
    if not real:
        pytest.skip("conformance corpus not found")
    different = [c.values[0]["name"] for c in real if _convert(c.values[0]) != read(c.values[0]["expected"])]
    assert not different, f"not byte-identical: {different}"
