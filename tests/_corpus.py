"""The libvirt conformance corpus in ../shared, when it is there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("ESXNB_CORPUS", Path(__file__).resolve().parents[2] / "shared/conformance/libvirt-9.0.0")
)
SKIP_REASON = f"conformance corpus not found at {CORPUS} (set ESXNB_CORPUS or check out ../shared)"


def cases(direction: str) -> list:
    """pytest params for every manifest case of one direction (one skipped param when absent)."""
    manifest = CORPUS / "manifest.json"
    if not manifest.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="corpus-missing")]
    data = json.loads(manifest.read_text())
    return [pytest.param(case, id=case["name"]) for case in data["cases"] if case["direction"] == direction]


def read(relative: str) -> str:
    return (CORPUS / relative).read_text(encoding="utf-8")
