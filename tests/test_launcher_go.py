"""The launcher's own Go tests (``esxnb/simulator/launcher/*_test.go``), run as the launcher is
built: GOPATH mode against Debian's govmomi."""

from __future__ import annotations

from esxnb.simulator._build import run_go_tests


def test_launcher_go_tests_pass() -> None:
    result = run_go_tests()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout
