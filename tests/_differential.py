"""Differential testing against libvirt's own C converter: the oracle build, seeded mutations of
libvirt's test data, and the classification of what both sides make of them.

The oracle is libvirt 9.0.0's VMX code as ``../shared/anchors/libvirt-vmx/run.sh`` builds it
from the Debian source (in ``$LVBENCH_WORK``, default /tmp/lvbench), plus ``differential/vmxdiff.c``
built next to it (seconds, incremental). Without that build the test is skipped and says how to
get it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
DRIVER_SOURCE = HERE / "differential" / "vmxdiff.c"
ANCHOR = HERE.parents[1] / "shared" / "anchors" / "libvirt-vmx" / "run.sh"
VMX_PATH = "[datastore] directory/vm.vmx"  # the context the anchor's esxnb side uses too


def oracle() -> tuple[Path | None, str]:
    """The built ``vmxdiff`` (None and why when it cannot be had)."""
    work = Path(os.environ.get("LVBENCH_WORK", "/tmp/lvbench"))
    tree = work / "libvirt-9.0.0"
    if (
        not (tree / "build" / "build.ninja").is_file()
        or not (tree / "tests" / "vmxbench-callbacks.h").is_file()
    ):
        return None, (
            f"libvirt's VMX code is not built in {tree}: run `make oracle` (or {ANCHOR}) once (Debian source, "
            "a few minutes), or point LVBENCH_WORK at such a build"
        )
    ninja = shutil.which("ninja")
    if ninja is None:
        return None, "ninja is not installed (the anchor's run.sh installs it)"
    shutil.copyfile(DRIVER_SOURCE, tree / "tests" / "vmxdiff.c")
    meson = tree / "tests" / "meson.build"
    text = meson.read_text()
    if "'vmxdiff'" not in text:
        text = text.replace(
            "    { 'name': 'vmxbench' },\n", "    { 'name': 'vmxbench' },\n    { 'name': 'vmxdiff' },\n"
        )
        if "'vmxdiff'" not in text:
            return None, f"cannot add vmxdiff to {meson}"
        meson.write_text(text)
    build = subprocess.run(
        [ninja, "-C", str(tree / "build"), "tests/vmxdiff"], capture_output=True, text=True
    )
    if build.returncode != 0:
        return None, f"building vmxdiff failed: {build.stdout[-1500:]}{build.stderr[-1500:]}"
    return tree / "build" / "tests" / "vmxdiff", ""


# -- seeded mutations ----------------------------------------------------------------------------

_VALUES = [
    "0",
    "-1",
    "1",
    "3",
    "7",
    "4294967296",
    "9223372036854775807",
    "TRUE",
    "false",
    "maybe",
    "",
    "a|22b",
    "a|00b",
    "ünïcödé",
    "../x",
    "[ds] d/f.vmdk",
    "00:50:56:3f:ff:ff",
    "52:54:00:12:34:56",
]
_ATTRS = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "16",
    "65536",
    "yes",
    "no",
    "on",
    "off",
    "foo",
    "",
    "auto",
    "vmpvscsi",
    "e1000",
    "vmxnet3",
    "file",
    "block",
    "cdrom",
    "disk",
    "scsi",
    "ide",
    "sata",
    "utc",
    "localtime",
]
_VMX_LINE = re.compile(r'^\s*([^=#\s]+)\s*=\s*"([^"]*)"\s*$')


@dataclass(frozen=True)
class Mutant:
    direction: str  # vmx2xml | xml2vmx
    name: str
    text: str
    datacenter_path: str | None
    hw: int


def _mutate_vmx(rng: random.Random, text: str, keys: list[str]) -> str:
    lines = text.splitlines()
    entries = [i for i, line in enumerate(lines) if _VMX_LINE.match(line)]
    op = rng.choice(["value", "value", "drop", "duplicate", "insert"])
    if not entries or op == "insert":
        lines.insert(rng.randrange(len(lines) + 1), f'{rng.choice(keys)} = "{rng.choice(_VALUES)}"')
    else:
        i = rng.choice(entries)
        key, value = _VMX_LINE.match(lines[i]).groups()  # type: ignore[union-attr]
        if op == "value":
            lines[i] = f'{key} = "{rng.choice(_VALUES + [value + value, value.upper()])}"'
        elif op == "drop":
            del lines[i]
        else:
            lines.insert(i + 1, f'{key.upper()} = "{rng.choice(_VALUES)}"')
    return "\n".join(lines) + "\n"


def _mutate_xml(rng: random.Random, text: str) -> str:
    root = etree.fromstring(text.encode())
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    target = rng.choice(elements)
    op = rng.choice(["attr", "attr", "text", "drop", "duplicate"])
    if op == "attr" and target.attrib:
        name = rng.choice(sorted(target.attrib))
        target.set(name, rng.choice(_ATTRS + [target.get(name, "") * 2]))
    elif op == "text" and target.text and target.text.strip():
        target.text = rng.choice(_ATTRS + ["4294967297", "1.5", " 1 "])
    elif op == "drop" and target is not root:
        target.getparent().remove(target)
    elif target is not root:
        import copy

        target.addnext(copy.deepcopy(target))
    else:
        root.set("type", rng.choice(["vmware", "kvm"]))
    return etree.tostring(root, encoding="unicode")


def mutants(corpus: Path, cases: list[dict], *, seed: int, per_case: int) -> list[Mutant]:
    """``per_case`` seeded mutations of every corpus input (the same seed, the same inputs)."""
    rng = random.Random(seed)
    keys = sorted(
        {
            m.group(1)
            for c in cases
            if c["direction"] == "vmx2xml"
            for line in (corpus / c["input"]).read_text(encoding="utf-8").splitlines()
            if (m := _VMX_LINE.match(line))
        }
    )
    out = []
    for case in cases:
        text = (corpus / case["input"]).read_text(encoding="utf-8")
        for n in range(per_case):
            if case["direction"] == "vmx2xml":
                mutated = _mutate_vmx(rng, text, keys)
                out.append(Mutant("vmx2xml", f"{case['name']}#{n}", mutated, case.get("datacenter_path"), 0))
            else:
                mutated = _mutate_xml(rng, text)
                out.append(
                    Mutant(
                        "xml2vmx",
                        f"{case['name']}#{n}",
                        mutated,
                        None,
                        int(case.get("virtual_hw_version") or 4),
                    )
                )
    return out


# -- running both sides ----------------------------------------------------------------------------


def run_libvirt(driver: Path, work: Path, items: list[Mutant]) -> list[tuple[str, str]]:
    """``(kind, text)`` per mutant: ("ok", output), ("refused", message) or ("crash", "")."""
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, m in enumerate(items):
        source = work / f"{i}.in"
        source.write_text(m.text, encoding="utf-8")
        rows.append(f"{m.direction}\t{source}\t{work / f'{i}.out'}\t{m.datacenter_path or '-'}\t{m.hw}")
    results: list[tuple[str, str]] = [("crash", "")] * len(items)
    start = 0
    while start < len(items):
        listing = work / "cases.tsv"
        listing.write_text("\n".join(rows[start:]) + "\n", encoding="utf-8")
        done = subprocess.run([str(driver), str(listing)], capture_output=True, text=True, timeout=600)
        started = [int(x) for x in re.findall(r"^START (\d+)$", done.stderr, re.M)]
        last = start + (started[-1] if started else -1)
        for i in range(start, (last + 1) if done.returncode != 0 else len(items)):
            out = work / f"{i}.out"
            if out.is_file():
                text = out.read_text(encoding="utf-8", errors="replace")
                results[i] = ("refused", text[6:]) if text.startswith("ERROR\t") else ("ok", text)
        if done.returncode == 0:
            break
        start = last + 1  # the case that crashed stays "crash"; go on after it
    return results


def run_esxnb(items: list[Mutant]) -> list[tuple[str, str]]:
    """``(kind, text)`` per mutant: ok, refused (an esxnb error) or bug (any other exception)."""
    import esxnb
    from esxnb.errors import EsxnbError

    results = []
    for m in items:
        try:
            if m.direction == "vmx2xml":
                # secrets shown as libvirt shows them: leaving them out is a documented departure
                out = esxnb.domxml_from_native(
                    m.text.encode(),  # bytes, as libvirt reads the file: .encoding decides
                    vmx_path=VMX_PATH,
                    datacenter_path=m.datacenter_path,
                    include_secrets=True,
                )
            else:
                out = esxnb.domxml_to_native(m.text, virtual_hw_version=m.hw)
            results.append(("ok", out))
        except EsxnbError as exc:
            results.append(("refused", str(exc)))
        except Exception as exc:  # noqa: BLE001 - exactly what the test looks for
            results.append(("bug", f"{type(exc).__name__}: {exc}"))
    return results


_RANDOM_UUID = re.compile(r'^(uuid\.bios = )"[^"]*"$', re.M)
_RANDOM_MAC = re.compile(r'^(ethernet\d+\.generatedAddress = )"([^"]*)"$', re.M)


def _without_chance(m: Mutant, text: str) -> str:
    """Values both sides draw at random when the input has none: a domain without a UUID, a
    NIC without a MAC."""
    if m.direction != "xml2vmx":
        return text
    if "<uuid>" not in m.text:
        text = _RANDOM_UUID.sub(r'\1"(random)"', text)
    given = m.text.lower()
    text = _RANDOM_MAC.sub(
        lambda mo: mo.group(0) if mo.group(2).lower() in given else mo.group(1) + '"(random)"', text
    )
    return text


def classify(m: Mutant, libvirt: tuple[str, str], mine: tuple[str, str]) -> str:
    (lk, lt), (ek, et) = libvirt, mine
    lt, et = _without_chance(m, lt), _without_chance(m, et)
    if ek == "bug":
        return "esxnb bug"
    if lk == "crash":
        return "libvirt crashed"
    if lk == "ok" and ek == "ok":
        return "same output" if lt == et else "different output"
    if lk == "refused" and ek == "refused":
        return "both refuse"
    return "libvirt refuses, esxnb converts" if lk == "refused" else "esxnb refuses, libvirt converts"


def table(items: list[Mutant], classes: list[str]) -> dict[str, Counter]:
    by_direction: dict[str, Counter] = {"vmx2xml": Counter(), "xml2vmx": Counter()}
    for m, cls in zip(items, classes):
        by_direction[m.direction][cls] += 1
    return by_direction
