"""How fast are the VMX <-> domain XML conversions? Microseconds per conversion, each direction.

    python benchmarks/convert.py [--corpus DIR] [--passes 7] [--loops 20]
    python benchmarks/convert.py --against-libvirt

Converts every case of the libvirt conformance corpus (``../shared/conformance/libvirt-9.0.0``
by default, or ``$ESXNB_CORPUS``) with the context its manifest gives, ``--loops`` times per
pass, and prints the median over ``--passes`` passes (and the best pass) in microseconds per
conversion.

The reference is libvirt's own C code, timed on the same machine in the same run (figures
quoted from another day mean nothing): ``--against-libvirt`` runs
``../shared/anchors/libvirt-vmx/run.sh``, which builds libvirt 9.0.0's VMX code from the Debian
source (once, in ``$LVBENCH_WORK``) and times it and esxnb alternately on the same cases, then
prints both and the esxnb / libvirt ratio per direction (target: at most 0.5).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from esxnb.vmx import domxml_from_native, domxml_to_native

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "libvirt-9.0.0"
ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "libvirt-vmx" / "run.sh"
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


def against_libvirt() -> int:
    """Run the anchor script with this Python (so it times this esxnb) and pass its report on."""
    if not ANCHOR.is_file():
        print(f"the libvirt anchor script is missing: {ANCHOR}", file=sys.stderr)
        return 2
    env = dict(os.environ, ESXNB_PYTHON=sys.executable)
    return subprocess.run(["bash", str(ANCHOR)], env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("ESXNB_CORPUS", DEFAULT_CORPUS)))
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument(
        "--against-libvirt",
        action="store_true",
        help="time libvirt's C code too, in the same run, and print the ratios",
    )
    args = parser.parse_args(argv)
    if args.against_libvirt:
        return against_libvirt()
    if not (args.corpus / "manifest.json").is_file():
        print(f"no conformance corpus at {args.corpus} (use --corpus or ESXNB_CORPUS)", file=sys.stderr)
        return 2
    calls = load(args.corpus)
    print(f"{'direction':<10}{'cases':>6}{'median us':>12}{'best us':>10}")
    for direction in ("vmx2xml", "xml2vmx"):
        per_pass = measure(calls[direction], args.passes, args.loops)
        print(
            f"{direction:<10}{len(calls[direction]):>6}{statistics.median(per_pass):>12.1f}{min(per_pass):>10.1f}"
        )
    print("libvirt's own time on this machine: run with --against-libvirt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
