"""How fast are the VMX <-> domain XML conversions? Microseconds per conversion, each direction.

    python benchmarks/convert.py [--corpus DIR] [--passes 7] [--loops 20] [--strict]

Converts every case of the libvirt conformance corpus (``../shared/conformance/libvirt-9.0.0``
by default, or ``$ESXNB_CORPUS``) with the context its manifest gives, ``--loops`` times per
pass, and prints the median over ``--passes`` passes (and the best pass) in microseconds per
conversion. The targets from issue 3 are libvirt's own C code on these machines: 58 us per
VMX -> XML and 81 us per XML -> VMX. ``--strict`` exits with status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from esxnb.vmx import domxml_from_native, domxml_to_native

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "libvirt-9.0.0"
TARGETS_US = {"vmx2xml": 58.0, "xml2vmx": 81.0}
VMX_PATH = "[datastore] directory/vm.vmx"  # where the corpus README puts every VMX file


def load(corpus: Path) -> dict[str, list[Callable[[], str]]]:
    """One zero-argument conversion per corpus case that converts (refused cases are skipped)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    calls: dict[str, list[Callable[[], str]]] = {"vmx2xml": [], "xml2vmx": []}
    for case in manifest["cases"]:
        if case["should_fail"]:
            continue
        data = (corpus / case["input"]).read_bytes()
        if case["direction"] == "vmx2xml":
            dc = case["datacenter_path"]
            calls["vmx2xml"].append(
                lambda d=data, dc=dc: domxml_from_native(d, vmx_path=VMX_PATH, datacenter_path=dc)
            )
        else:
            hw = case["virtual_hw_version"]
            calls["xml2vmx"].append(lambda d=data, hw=hw: domxml_to_native(d, virtual_hw_version=hw))
    return calls


def measure(calls: list[Callable[[], str]], passes: int, loops: int) -> list[float]:
    """Microseconds per conversion of each pass."""
    for call in calls:  # warm up: imports, regex and parser caches
        call()
    results = []
    for _ in range(passes):
        gc.collect()
        start = time.perf_counter()
        for _ in range(loops):
            for call in calls:
                call()
        results.append((time.perf_counter() - start) / (loops * len(calls)) * 1e6)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("ESXNB_CORPUS", DEFAULT_CORPUS)))
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not (args.corpus / "manifest.json").is_file():
        print(f"no conformance corpus at {args.corpus} (use --corpus or ESXNB_CORPUS)", file=sys.stderr)
        return 2
    calls = load(args.corpus)
    missed = False
    print(f"{'direction':<10}{'cases':>6}{'median us':>12}{'best us':>10}{'libvirt us':>12}")
    for direction in ("vmx2xml", "xml2vmx"):
        per_pass = measure(calls[direction], args.passes, args.loops)
        median = statistics.median(per_pass)
        target = TARGETS_US[direction]
        missed |= median > target
        print(
            f"{direction:<10}{len(calls[direction]):>6}{median:>12.1f}{min(per_pass):>10.1f}{target:>12.0f}"
        )
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
