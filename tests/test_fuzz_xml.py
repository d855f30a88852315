"""Property tests: whatever domain XML comes in, domxml_to_native either returns a
well-formed VMX with unique keys or raises an esxnb error — nothing else.

The default run keeps to a few seconds; the ``slow`` variants try many more examples.
"""

from __future__ import annotations

import random
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from _corpus import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esxnb.errors import EsxnbError
from esxnb.vmx import domxml_to_native, parse_vmx

FAST = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=20000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS = sorted((Path(__file__).parent / "fixtures" / "xml").glob("*.xml")) + sorted(
    CORPUS.glob("xml2vmx/*.xml")
)
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS]


def check(xml: str | bytes, hw: int = 4) -> None:
    """The property itself."""
    try:
        vmx = domxml_to_native(xml, virtual_hw_version=hw)
    except EsxnbError as exc:
        assert str(exc).strip()
        return
    assert isinstance(vmx, str) and vmx.endswith("\n")
    keys = [key.lower() for key, _ in parse_vmx(vmx).items()]
    assert len(keys) == len(set(keys)), f"duplicate VMX keys in:\n{vmx}"


# ---------------------------------------------------------------- structured domains

# characters XML allows (malformed XML is the business of the other tests)
noise = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), max_size=12
)
small_int = st.integers(min_value=-2, max_value=70).map(str)


class Choose:
    """Picks attribute values: a plausible one, or (at the document's chaos rate, in %) anything."""

    def __init__(self, draw, chaos: int) -> None:
        self.draw = draw
        self.chaos = chaos

    def __call__(self, *values: str | None) -> str | None:
        # hypothesis favours small integers, so the rare branch sits at the top of the range
        if self.chaos and self.draw(st.integers(0, 99)) >= 100 - self.chaos:
            return self.draw(st.one_of(st.none(), noise, small_int))
        return self.draw(st.sampled_from(values))

    def maybe(self) -> bool:
        return self.draw(st.booleans())


def element(tag: str, attrs: dict[str, str | None], children: list[str] = (), text: str | None = None) -> str:
    attributes = "".join(f" {name}={quoteattr(value)}" for name, value in attrs.items() if value is not None)
    body = "".join(children) + (escape(text) if text is not None else "")
    return f"<{tag}{attributes}>{body}</{tag}>"


def disk(c: Choose) -> str:
    device = c("disk", "cdrom", "floppy", "lun", None)
    children = [element("target", {"dev": c("sda", "sdb", "sdh", "sdp", "sdae", "hda", "hdb", "hdd", "fda", "fdb"),
                                   "bus": c("scsi", "ide", "fdc", "sata", None)})]  # fmt: skip
    if c.maybe():
        children.append(element("source", {
            "file": c("[ds] a.vmdk", "[ds] b.iso", "/abs/c.vmdk", "[ds] f.flp", None),
            "dev": c("/dev/cdrom", "/vmfs/devices/cdrom/mpx.vmhba0:C0:T0:L0", "/dev/fd0", None),
            "startupPolicy": c(None, None, "optional", "mandatory"),
        }))  # fmt: skip
    if c.maybe():
        children.append(element("driver", {"name": c(None, "lsilogic", "BusLogic", "vmpvscsi", "auto"),
                                           "cache": c(None, "writethrough", "default")}))  # fmt: skip
    if c.maybe():
        children.append("<transient/>")
    if c.maybe():
        children.append(element("address", {"type": c("drive"), "controller": c("0", "1"), "bus": c("0", "1"),
                                            "unit": c("0", "1", "8", "16")}))  # fmt: skip
    return element("disk", {"type": c("file", "block", None), "device": device}, children)


def interface(c: Choose) -> str:
    children = []
    if c.maybe():
        children.append(element("mac", {"address": c("00:0c:29:01:02:03", "00:50:56:3f:00:01", "00:50:56:81:00:01",
                                                      "52:54:00:aa:bb:cc", "0:c:29:1:2:3"),
                                        "type": c(None, "generated", "static"),
                                        "check": c(None, "yes", "no")}))  # fmt: skip
    children.append(element("source", {"bridge": c("VM Network", None),
                                       "switchid": c("502a9c10-aabb-ccdd-eeff-001122334455", None),
                                       "portid": c("5"), "portgroupid": c("dvportgroup-1"),
                                       "connectionid": c("77")}))  # fmt: skip
    if c.maybe():
        children.append(
            element("model", {"type": c("e1000", "E1000E", "vmxnet", "vmxnet2", "vmxnet3", "vlance")})
        )
    if c.maybe():
        children.append(element("target", {"dev": c("vnet0", "/dev/vmnet1")}))
    return element("interface", {"type": c("bridge", "user", "null", "vds", None)}, children)


def character_device(c: Choose) -> str:
    tag = c.draw(st.sampled_from(["serial", "parallel", "console"]))
    children = [element("source", {"path": c("/dev/ttyS0", "[ds] s.log", "/vmfs/volumes/ds/p.out", "p.pipe"),
                                   "mode": c(None, "bind", "connect"), "host": c("10.0.0.1"),
                                   "service": c("7000")})]  # fmt: skip
    if c.maybe():
        children.append(element("target", {"port": c(None, "0", "1", "2", "3"), "type": c(None, "serial")}))
    if c.maybe():
        children.append(element("protocol", {"type": c("raw", "telnet", "telnets", "tls")}))
    return element(tag, {"type": c("dev", "file", "pipe", "tcp")}, children)


def other_device(c: Choose) -> str:
    kind = c.draw(st.sampled_from(["controller", "graphics", "video", "filesystem", "input"]))
    if kind == "controller":
        return element("controller", {"type": c("scsi", "ide", "sata"), "index": c("0", "1", "2", "3", None),
                                      "model": c(None, "auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi")})  # fmt: skip
    if kind == "graphics":
        listen = [element("listen", {"type": c("address", "network"), "address": c("0.0.0.0", None)})]
        return element("graphics", {"type": c("vnc"), "port": c(None, "5900", "-1"), "autoport": c(None, "yes", "no"),
                                    "listen": c(None, "127.0.0.1"), "keymap": c(None, "de"),
                                    "passwd": c(None, "secret")}, listen if c.maybe() else [])  # fmt: skip
    if kind == "video":
        model = element(
            "model", {"type": c("vmvga", None), "vram": c(None, "4096", "12000"), "heads": c(None, "1")}
        )
        return element("video", {}, [model] if c.maybe() else [])
    if kind == "filesystem":
        return element("filesystem", {"type": c("mount", None)},
                       [element("source", {"dir": c("/srv")}), element("target", {"dir": c("x")})])  # fmt: skip
    return element("input", {"type": "mouse"})


@st.composite
def domains(draw) -> str:
    c = Choose(draw, draw(st.sampled_from([0, 0, 1, 3, 10, 30])))
    vcpus = c("1", "2", "4")
    parts = [
        element("name", {}, text=c("vm", "a/b|c\"d%", "Ünïcode")),
        element("uuid", {}, text=c("564d9bef-acd9-b4e0-c8f0-aea8b9103515", "00000000000000000000000000000000")),
        element("memory", {"unit": c(None, "KiB", "MiB", "GB")}, text=c("4096", "219136")),
        element("currentMemory", {}, text=c("1024", "999999999")),
        element("vcpu", {"current": c(None), "cpuset": c(None, "0-3", "0,2-5,^3"),
                         "placement": c(None, "static", "auto")}, text=vcpus),
        element("cputune", {}, [element("shares", {}, text=c("1000", "2000", "777"))]),
        element("memtune", {}, [element("min_guarantee", {"unit": c(None, "MiB")}, text=c("16"))]),
        element("os", {"firmware": c(None, "efi", "bios")},
                [element("type", {"arch": c(None, "i686", "x86_64")}, text=c("hvm")),
                 element("smbios", {"mode": c("host", "emulate")})]),
        element("description", {}, text=c("desc |with| \"quotes\"\n")),
        element("genid", {}, text=c("13c67c91-9f47-526f-b0d6-e4dd2e4bb4f9")),
    ]  # fmt: skip
    if draw(st.booleans()):
        parts.append(element("cpu", {"mode": c(None, "custom")},
                             [element("topology", {"sockets": c("1"), "cores": c(vcpus),
                                                   "threads": c("1"), "dies": c(None, "1")})]))  # fmt: skip
    chosen = [p for i, p in enumerate(parts) if i == 7 or draw(st.integers(0, 19)) < 19]
    makers = [disk, interface, character_device, other_device]
    devices = [draw(st.sampled_from(makers))(c) for _ in range(draw(st.integers(0, 8)))]
    chosen.append(element("devices", {}, devices))
    chosen = draw(st.permutations(chosen))
    return element("domain", {"type": c("vmware")}, chosen)


HW_VERSIONS = st.sampled_from([4, 7, 10, 14])


@FAST
@given(domains(), HW_VERSIONS)
def test_structured_domains(xml: str, hw: int) -> None:
    check(xml, hw)


@pytest.mark.slow
@SLOW
@given(domains(), HW_VERSIONS)
def test_structured_domains_many(xml: str, hw: int) -> None:
    check(xml, hw)


# ---------------------------------------------------------------- mutated real documents


def mutate(text: str, rnd: random.Random, rounds: int) -> str:
    for _ in range(rounds):
        if not text:
            break
        op = rnd.randrange(6)
        i = rnd.randrange(len(text))
        j = min(len(text), i + rnd.randrange(1, 40))
        if op == 0:  # delete a span
            text = text[:i] + text[j:]
        elif op == 1:  # duplicate a span
            text = text[:j] + text[i:j] + text[j:]
        elif op == 2:  # insert markup-ish characters
            text = (
                text[:i]
                + rnd.choice(["<", ">", "&", "'", '"', "/", "=", "]]>", "&amp;", "\x01", "é", "\ud7ff"])
                + text[i:]
            )
        elif op == 3:  # swap two spans
            k = rnd.randrange(len(text))
            a, b = sorted((i, k))
            text = text[:a] + text[b:j] + text[a:b] + text[j:] if b < j else text
        elif op == 4:  # change a digit or letter
            text = text[:i] + rnd.choice("0123456789abcxyz-") + text[i + 1 :]
        else:  # replace a quoted value
            start = text.find("'", i)
            end = text.find("'", start + 1) if start >= 0 else -1
            if end > start >= 0:
                text = (
                    text[: start + 1]
                    + rnd.choice(["", "99", "-1", "sdz", "[x] y.vmdk", "vnc", "auto"])
                    + text[end:]
                )
    return text


@FAST
@given(
    st.sampled_from(range(len(SEED_TEXTS))), st.randoms(use_true_random=False), st.integers(1, 6), HW_VERSIONS
)
def test_mutated_documents(seed: int, rnd: random.Random, rounds: int, hw: int) -> None:
    check(mutate(SEED_TEXTS[seed], rnd, rounds), hw)


@pytest.mark.slow
@SLOW
@given(
    st.sampled_from(range(len(SEED_TEXTS))),
    st.randoms(use_true_random=False),
    st.integers(1, 12),
    HW_VERSIONS,
)
def test_mutated_documents_many(seed: int, rnd: random.Random, rounds: int, hw: int) -> None:
    check(mutate(SEED_TEXTS[seed], rnd, rounds), hw)


# ---------------------------------------------------------------- raw input


@FAST
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_input(data: str | bytes) -> None:
    check(data)


@FAST
@given(st.sampled_from(range(len(SEED_TEXTS))), st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"]))
def test_encodings(seed: int, codec: str) -> None:
    text = SEED_TEXTS[seed]
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    check(data)
