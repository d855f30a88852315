"""Graphics and video: VMX ``RemoteDisplay.vnc.*`` -> ``<graphics type='vnc'>``
(``read_vnc``) and back (``format_vnc``), ``<video>`` -> ``svga.*`` (``format_video``)."""

from __future__ import annotations

import logging

from lxml import etree

from ..errors import ConversionError
from ._from_native_values import Entries, xml_escape
from ._to_native_values import (
    parse_enum,
    parse_long,
    parse_uint,
    parse_yes_no,
)

VIDEO_TYPES = (
    "default", "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio", "gop", "none", "bochs", "ramfb",
)  # fmt: skip

log = logging.getLogger("esxnb")


DEFAULT_VRAM_KIB = 4096  # libvirt's default for a VMware domain


# -- VMX -> domain XML ----------------------------------------------------------------------


def read_vnc(e: Entries, include_secrets: bool) -> str | None:
    if not e.boolean("RemoteDisplay.vnc.enabled", False):
        return None
    port = e.integer("RemoteDisplay.vnc.port", -1)
    listen = e.string("RemoteDisplay.vnc.ip")
    keymap = e.string("RemoteDisplay.vnc.keymap")
    password = e.string("RemoteDisplay.vnc.password")
    if port > 65535:
        raise e.error("RemoteDisplay.vnc.port", f"must be a TCP port (0-65535), found {port}")
    if port < 0:
        attrs = " port='-1' autoport='yes'"  # the port is chosen when the VM starts
    else:
        attrs = (f" port='{port}'" if port else "") + " autoport='no'"
    if listen is not None:
        attrs += f" listen='{xml_escape(listen)}'"
    if keymap is not None:
        attrs += f" keymap='{xml_escape(keymap)}'"
    if password is not None and include_secrets:
        attrs += f" passwd='{xml_escape(password)}'"
    address = f" address='{xml_escape(listen)}'" if listen is not None else ""
    return f"    <graphics type='vnc'{attrs}>\n      <listen type='address'{address}/>\n    </graphics>\n"


# -- domain XML -> VMX ----------------------------------------------------------------------


def format_video(videos: list[etree._Element | None], out: list[tuple[str, str]]) -> None:
    """``svga.vramSize`` of the one video device (None: the implicit one a <graphics> brings)."""
    if len(videos) > 1:
        raise ConversionError(f"ESX supports one video device, the XML has {len(videos)}")
    model = videos[0].find("model") if videos[0] is not None else None
    if model is None:
        kind, vram, heads = "default", 0, 1
    else:
        kind = parse_enum(model.get("type"), VIDEO_TYPES, "video model type", default="default")
        vram = parse_uint(model.get("vram") or "0", "video vram")
        heads = parse_uint(model.get("heads") or "1", "video heads")
    if kind == "default":
        kind = "vmvga"
    if kind != "vmvga":
        raise ConversionError(f"video model '{kind}' is not supported; ESX has 'vmvga' (the SVGA adapter)")
    if vram == 0:
        vram = DEFAULT_VRAM_KIB
    if vram > 2**31:
        raise ConversionError(f"video vram {vram} KiB is too large")
    vram = 1 << (vram - 1).bit_length()  # libvirt rounds video memory up to a power of two
    if heads > 1:
        raise ConversionError(f"video with {heads} heads: ESX does not support multi-head video devices")
    vram = -(-vram // 64) * 64  # Windows guests need a multiple of 64 KiB
    out.append(("svga.vramSize", str(vram * 1024)))


def format_vnc(el: etree._Element, out: list[tuple[str, str]]) -> None:
    out.append(("RemoteDisplay.vnc.enabled", "true"))
    port_text = el.get("port")
    autoport = True
    port = 0
    if port_text is not None:
        port = parse_long(port_text, "VNC port")
        autoport = port == -1
        if port == -1:
            port = 0
    flag = parse_yes_no(el.get("autoport"), "VNC autoport")
    if flag is not None:
        autoport = flag
        if autoport:
            port = 0
    if autoport:
        log.info("VNC autoport is enabled, but the port ESX assigns cannot be read back")
    else:
        if not 5900 <= port <= 5964:
            log.info("VNC port %d is out of the [5900..5964] range ESX uses", port)
        out.append(("RemoteDisplay.vnc.port", str(port)))
    # As libvirt's parser: the listen attribute and an address <listen> must agree; either
    # one gives the address.
    listen = el.get("listen")
    listens = el.findall("listen")
    if listens and listens[0].get("type") == "address":
        address = listens[0].get("address")
        if listen is not None and address is not None and address != listen:
            raise ConversionError(
                f"<graphics type='vnc' listen='{listen}'> and its <listen address='{address}'/> disagree; "
                "give one address"
            )
        listen = listen if address is None else address
    if listen:
        out.append(("RemoteDisplay.vnc.ip", listen))
    keymap = el.get("keymap")
    if keymap is not None:
        out.append(("RemoteDisplay.vnc.keymap", keymap))
    password = el.get("passwd")
    if password is not None:
        if any(c in password for c in '"\r\n'):  # checked here: the generic error would quote the value
            raise ConversionError(
                "the VNC password holds a double quote or line break, which a VMX file cannot hold"
            )
        out.append(("RemoteDisplay.vnc.password", password))
