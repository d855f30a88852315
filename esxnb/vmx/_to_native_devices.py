"""Network interfaces, serial and parallel ports, video, VNC and shared folders -> VMX entries."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from lxml import etree

from ..errors import ConversionError
from ._to_native_values import (
    first_children,
    format_uuid_vmx,
    parse_enum,
    parse_long,
    parse_mac,
    parse_uint,
    parse_uuid,
    parse_yes_no,
)

__all__ = [
    "format_interface",
    "Chr",
    "parse_chr",
    "serials_with_ports",
    "parallels_with_ports",
    "format_serial",
    "format_parallel",
    "format_video",
    "format_vnc",
    "format_filesystems",
]

log = logging.getLogger(__name__)

NET_TYPES = (
    "user", "ethernet", "vhostuser", "server", "client", "mcast", "network", "bridge",
    "internal", "direct", "hostdev", "udp", "vdpa", "null", "vds",
)  # fmt: skip
ESX_NET_MODELS = ("vlance", "vmxnet", "vmxnet2", "vmxnet3", "e1000", "e1000e")
_NET_MODELS_LOWER = {
    m.lower(): m
    for m in (
        "netfront", "rtl8139", "virtio", "e1000", "e1000e", "virtio-transitional", "virtio-non-transitional",
        "usb-net", "spapr-vlan", "lan9118", "scm91c111", "vlance", "vmxnet", "vmxnet2", "vmxnet3",
        "Am79C970A", "Am79C973", "82540EM", "82545EM", "82543GC",
    )
}  # fmt: skip
# libvirt blanks tap names it generated itself when reading an inactive config
_GENERATED_IFNAMES = ("vnet", "macvtap", "macvlan")
MAC_PREFIX = b"\x00\x0c\x29"  # VMware's prefix for generated addresses


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def format_interface(
    el: etree._Element, index: int, virtual_hw_version: int, out: list[tuple[str, str]]
) -> None:
    """Append the ``ethernet<index>.*`` entries of one ``<interface>``."""
    limit = 9 if virtual_hw_version >= 7 else 3
    if index > limit:
        raise ConversionError(
            f"interface {index + 1} is one too many: virtual hardware version {virtual_hw_version} supports "
            f"{limit + 1} network interfaces (version 7 and later: 10)"
        )
    kind = parse_enum(el.get("type"), NET_TYPES, f"interface {index} type", default="user")
    kids = first_children(el)
    model_el = kids.get("model")
    model = model_el.get("type") if model_el is not None else None
    if model is not None:
        canonical = _NET_MODELS_LOWER.get(model.lower())
        if canonical not in ESX_NET_MODELS:
            raise ConversionError(
                f"interface {index} has model '{model}'; ESX supports {', '.join(ESX_NET_MODELS)}"
            )
        model = canonical
    source = kids.get("source")
    prefix = f"ethernet{index}"
    out.append((f"{prefix}.present", "true"))
    if model == "vmxnet2":
        out.append((f"{prefix}.virtualDev", "vmxnet"))
        out.append((f"{prefix}.features", "15"))
    elif model is not None:
        out.append((f"{prefix}.virtualDev", model))

    if kind == "bridge":
        bridge = source.get("bridge") if source is not None else None
        if bridge is None:
            raise ConversionError(
                f"interface {index} of type 'bridge' needs <source bridge='port group name'/>"
            )
        out.append((f"{prefix}.networkName", bridge))
        target = kids.get("target")
        ifname = target.get("dev") if target is not None else None
        if ifname is not None and (not ifname or ifname.startswith(_GENERATED_IFNAMES)):
            ifname = None
        if ifname is not None:
            out.append((f"{prefix}.connectionType", "custom"))
            out.append((f"{prefix}.vnet", ifname))
        else:
            out.append((f"{prefix}.connectionType", "bridged"))
    elif kind == "user":
        out.append((f"{prefix}.connectionType", "nat"))
    elif kind == "vds":
        _format_vds(source, index, prefix, out)
    elif kind != "null":
        raise ConversionError(
            f"interface {index} has type '{kind}'; ESX supports 'bridge' (a port group), 'user' (NAT), "
            f"'vds' (a distributed switch port) and 'null'"
        )
    _format_mac(kids.get("mac"), index, prefix, out)


def _format_vds(source: etree._Element | None, index: int, prefix: str, out: list[tuple[str, str]]) -> None:
    if source is None:
        raise ConversionError(f"interface {index} of type 'vds' requires a <source> element")
    values = {}
    for name in ("switchid", "portid", "portgroupid", "connectionid"):
        value = source.get(name)
        if value is None:
            raise ConversionError(f"interface {index} of type 'vds' needs <source {name}='...'>")
        values[name] = value
    switch = parse_uuid(values["switchid"], f"interface {index} switchid")
    out.append((f"{prefix}.dvs.switchId", format_uuid_vmx(switch)))
    out.append((f"{prefix}.dvs.portId", str(parse_long(values["portid"], f"interface {index} portid"))))
    out.append((f"{prefix}.dvs.portgroupId", values["portgroupid"]))
    out.append(
        (
            f"{prefix}.dvs.connectionId",
            str(parse_long(values["connectionid"], f"interface {index} connectionid")),
        )
    )


def _format_mac(mac_el: etree._Element | None, index: int, prefix: str, out: list[tuple[str, str]]) -> None:
    """addressType/address/checkMACAddress from the address ranges, as the spec describes."""
    address = mac_el.get("address") if mac_el is not None else None
    what = f"interface {index} MAC address"
    if address is not None:
        mac = parse_mac(address, what)
    else:
        mac = MAC_PREFIX + os.urandom(3)
    mac_type = (
        parse_enum(mac_el.get("type"), ("generated", "static"), f"{what} type")
        if mac_el is not None
        else None
    )
    explicit_check = parse_yes_no(mac_el.get("check"), f"{what} check") if mac_el is not None else None

    oui = mac[:3]
    suffix = int.from_bytes(mac[3:], "big")
    vpx = False
    check: bool | None = None
    if oui == MAC_PREFIX:
        kind = "generated"
    elif oui == b"\x00\x50\x56" and suffix <= 0x3FFFFF:
        kind = "static"
    elif oui == b"\x00\x50\x56" and 0x800000 <= suffix <= 0xBFFFFF:
        kind, vpx = "generated", True  # assigned by vCenter
    else:
        kind, check = "static", False  # outside VMware's ranges: ESX must not verify it
    if mac_type is not None:
        kind = mac_type
        if kind == "generated":
            check = None
    if explicit_check is not None:
        check = explicit_check

    if mac == bytes(6):
        # what the VMX reader gives for a NIC without an address: leave it to ESX to pick one
        # (libvirt would write a static all-zero address)
        return
    text = _mac_text(mac)
    if kind == "generated":
        out.append((f"{prefix}.addressType", "vpx" if vpx else "generated"))
        out.append((f"{prefix}.generatedAddress", text))
        if not vpx:
            out.append((f"{prefix}.generatedAddressOffset", "0"))
    else:
        out.append((f"{prefix}.addressType", "static"))
        out.append((f"{prefix}.address", text))
    if check is not None:
        out.append((f"{prefix}.checkMACAddress", "true" if check else "false"))


# ---------------------------------------------------------------- serial / parallel

CHR_TYPES = (
    "null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
    "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus",
)  # fmt: skip
CONSOLE_TARGETS = ("serial", "xen", "uml", "virtio", "lxc", "openvz", "sclp", "sclplm")
TCP_PROTOCOLS = {"raw": "tcp", "telnet": "telnet", "telnets": "telnets", "tls": "ssl"}


class Chr:
    """A serial, parallel or console device after libvirt's parse."""

    __slots__ = ("tag", "kind", "path", "host", "service", "listen", "protocol", "port", "target_type")

    def describe(self) -> str:
        name = (
            "serial port"
            if self.tag == "serial"
            else f"{self.tag} port"
            if self.tag == "parallel"
            else "console"
        )
        return f"{name} {self.port}" if self.port is not None else name


def parse_chr(el: etree._Element) -> Chr:
    c = Chr()
    c.tag = el.tag
    c.kind = parse_enum(el.get("type"), CHR_TYPES, f"<{el.tag} type=...>", default="pty")
    c.path = c.host = c.service = None
    c.listen = False
    c.protocol = "raw"
    c.port = None
    c.target_type = None
    target = None
    sources = []
    protocols = []
    for child in el:
        tag = child.tag
        if tag == "source":
            sources.append(child)
        elif tag == "protocol":
            protocols.append(child)
        elif tag == "target" and target is None:
            target = child
    if target is not None:
        if c.tag == "console":
            c.target_type = parse_enum(target.get("type"), CONSOLE_TARGETS, "console target type")
        else:
            port = target.get("port")
            if port is not None:
                c.port = parse_uint(port, f"<{el.tag}> target port")
    if len(sources) > 1 and c.kind != "udp":
        raise ConversionError(f"{c.describe()}: only one <source> element is allowed")
    if sources:
        src = sources[0]
        if c.kind in ("file", "dev", "pipe"):
            c.path = src.get("path")
        elif c.kind == "tcp":
            mode = parse_enum(
                src.get("mode"), ("bind", "connect"), f"{c.describe()} source mode", default="connect"
            )
            c.listen = mode == "bind"
            c.host = src.get("host")
            c.service = src.get("service")
    if len(protocols) > 1:
        raise ConversionError(f"{c.describe()}: only one <protocol> element is allowed")
    if protocols and c.kind == "tcp":
        c.protocol = parse_enum(
            protocols[0].get("type"), tuple(TCP_PROTOCOLS), f"{c.describe()} protocol", default="raw"
        )
    if c.kind in ("file", "dev", "pipe") and c.path is None:
        raise ConversionError(f"{c.describe()} of type '{c.kind}' needs <source path='...'/>")
    if c.kind == "tcp" and (c.host is None or c.service is None):
        missing = "host" if c.host is None else "service"
        raise ConversionError(f"{c.describe()} of type 'tcp' needs <source {missing}='...'/>")
    return c


def serials_with_ports(serials: list[Chr], consoles: list[Chr]) -> list[Chr]:
    """libvirt's console compatibility (an HVM console is serial 0) and port numbering."""
    for c in consoles[1:]:
        if c.target_type == "serial":
            raise ConversionError("only the first <console> can be a serial port")
    if consoles and consoles[0].target_type in (None, "serial") and not serials:
        first = consoles[0]
        first.tag, first.port = "serial", 0
        serials = [first]
    for c in serials:
        if c.port is None:
            c.port = max((s.port for s in serials if s.port is not None), default=-1) + 1
    _check_ports(serials, 3, "serial")
    return serials


def parallels_with_ports(parallels: list[Chr]) -> list[Chr]:
    for i, c in enumerate(parallels):
        if c.port is None:  # numbered after the ports seen so far, as libvirt's parser does
            c.port = max((p.port for p in parallels[:i]), default=-1) + 1  # type: ignore[type-var]
    _check_ports(parallels, 2, "parallel")
    return parallels


def _check_ports(chrs: list[Chr], highest: int, name: str) -> None:
    seen: set[int] = set()
    for c in chrs:
        if c.port > highest:  # type: ignore[operator]
            raise ConversionError(f"{name} port {c.port} is out of range; ESX has {name} ports 0..{highest}")
        if c.port in seen:
            raise ConversionError(f"two {name} devices use port {c.port}")
        seen.add(c.port)  # type: ignore[arg-type]


def format_serial(c: Chr, to_vmx_path: Callable[[str], str], out: list[tuple[str, str]]) -> None:
    prefix = f"serial{c.port}"
    if c.kind not in ("dev", "file", "pipe", "tcp"):
        raise ConversionError(
            f"{c.describe()} has type '{c.kind}'; ESX supports 'dev', 'file', 'pipe' and 'tcp' serial ports"
        )
    out.append((f"{prefix}.present", "true"))
    if c.kind in ("dev", "file"):
        _format_device_or_file(prefix, c, to_vmx_path, out)
    elif c.kind == "pipe":
        out.append((f"{prefix}.fileType", "pipe"))
        # the VI client's defaults for a new named pipe
        out.append((f"{prefix}.pipe.endPoint", "client"))
        out.append((f"{prefix}.tryNoRxLoss", "false"))
        out.append((f"{prefix}.fileName", c.path))  # type: ignore[arg-type]
    else:
        out.append((f"{prefix}.fileType", "network"))
        out.append((f"{prefix}.fileName", f"{TCP_PROTOCOLS[c.protocol]}://{c.host}:{c.service}"))
        out.append((f"{prefix}.network.endPoint", "server" if c.listen else "client"))
    out.append((f"{prefix}.yieldOnMsrRead", "true"))


def format_parallel(c: Chr, to_vmx_path: Callable[[str], str], out: list[tuple[str, str]]) -> None:
    prefix = f"parallel{c.port}"
    if c.kind not in ("dev", "file"):
        raise ConversionError(
            f"{c.describe()} has type '{c.kind}'; ESX supports 'dev' and 'file' parallel ports"
        )
    out.append((f"{prefix}.present", "true"))
    _format_device_or_file(prefix, c, to_vmx_path, out)


def _format_device_or_file(
    prefix: str, c: Chr, to_vmx_path: Callable[[str], str], out: list[tuple[str, str]]
) -> None:
    """A serial or parallel port on a host device (its path as given) or a file (a datastore path)."""
    if c.kind == "dev":
        out.append((f"{prefix}.fileType", "device"))
        out.append((f"{prefix}.fileName", c.path))  # type: ignore[arg-type]
    else:
        out.append((f"{prefix}.fileType", "file"))
        out.append((f"{prefix}.fileName", to_vmx_path(c.path)))  # type: ignore[arg-type]


# ---------------------------------------------------------------- video, VNC, shared folders

VIDEO_TYPES = (
    "default", "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio", "gop", "none", "bochs", "ramfb",
)  # fmt: skip
DEFAULT_VRAM_KIB = 4096  # libvirt's default for a VMware domain


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
    listen = None
    listens = el.findall("listen")
    if listens:
        first = listens[0]
        if first.get("type") == "address":
            listen = first.get("address")
    else:
        listen = el.get("listen")
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


def format_filesystems(filesystems: list[etree._Element], out: list[tuple[str, str]]) -> None:
    if not filesystems:
        return
    out.append(("isolation.tools.hgfs.disable", "false"))
    out.append(("sharedFolder.maxNum", str(len(filesystems))))
    for number, el in enumerate(filesystems):
        kind = el.get("type") or "mount"
        if kind != "mount":
            raise ConversionError(
                f"filesystem {number} has type '{kind}'; ESX shared folders are type 'mount'"
            )
        source = el.find("source")
        target = el.find("target")
        host_path = source.get("dir") if source is not None else None
        guest_name = target.get("dir") if target is not None else None
        if not host_path:
            raise ConversionError(f"filesystem {number} needs <source dir='host path'/>")
        if not guest_name:
            raise ConversionError(f"filesystem {number} needs <target dir='name in the guest'/>")
        prefix = f"sharedFolder{number}"
        out.append((f"{prefix}.present", "true"))
        out.append((f"{prefix}.enabled", "true"))
        out.append((f"{prefix}.readAccess", "true"))
        out.append((f"{prefix}.writeAccess", "false" if el.find("readonly") is not None else "true"))
        out.append((f"{prefix}.hostPath", host_path))
        out.append((f"{prefix}.guestName", guest_name))
