"""The launcher's own Go tests (``esxnb/simulator/launcher/*_test.go``), run as the launcher is
built: GOPATH mode against Debian's govmomi."""

from __future__ import annotations

from esxnb.simulator._build import run_go_tests


def test_launcher_go_tests_pass() -> None:
    result = run_go_tests()
    assert result.returncode == 0, result.stdout + result.stderr
    passed = {line.split()[2] for line in result.stdout.splitlines() if line.startswith("--- PASS")}
    # one test file per area of the launcher at least: wire format, SOAP, rules, VMX files, control API
    assert {
        "TestRealWire",
        "TestParseCallReadsMethodThisArgsAndRefs",
        "TestFaultRulesCountDownAndDelaysAdd",
        "TestVMXLinesAndPatching",
        "TestControlNeedsTheTokenAndKnownOperations",
    } <= passed
