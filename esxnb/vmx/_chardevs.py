"""Serial and parallel ports (and the serial console): VMX ``serialN``/``parallelN`` ->
``<serial>``/``<parallel>`` (``read_serial``, ``read_parallel``) and back (``parse_chr``,
``format_serial``, ``format_parallel``), side by side as in libvirt's vmx.c."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ..errors import ConversionError
from ._from_native_values import Entries, xml_escape
from ._to_native_values import parse_enum, parse_uint

# scheme://host:port as VMware writes network serial ports; host may be [IPv6]
_URI = re.compile(
    r"(?:([A-Za-z][A-Za-z0-9+.\-]*):)?//(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([0-9]*))?(?:[/?#].*)?\Z"
)


_TCP_PROTOCOLS = {
    "tcp": "raw",
    "tcp4": "raw",
    "tcp6": "raw",
    "telnet": "telnet",
    "telnets": "telnets",
    "ssl": "tls",
    "tcp+ssl": "tls",
    "tcp4+ssl": "tls",
    "tcp6+ssl": "tls",
}
TCP_PROTOCOLS = {"raw": "tcp", "telnet": "telnet", "telnets": "telnets", "tls": "ssl"}


CHR_TYPES = (
    "null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
    "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus",
)  # fmt: skip


CONSOLE_TARGETS = ("serial", "xen", "uml", "virtio", "lxc", "openvz", "sclp", "sclplm")


# (file name, allow_missing, VMX key naming it) -> datastore path; None = missing (only when allowed)
FileResolver = Callable[[str, bool, str], "str | None"]


# -- VMX -> domain XML ----------------------------------------------------------------------


@dataclass(slots=True)
class CharDev:
    """A serial or parallel port: ``kind`` is dev/file/pipe/tcp; ``source`` its inner XML."""

    kind: str
    source: str
    port: int


def read_serial(e: Entries, port: int, resolve: FileResolver) -> CharDev | None:
    prefix = f"serial{port}"
    if not e.present(prefix):
        return None
    file_type = e.string(prefix + ".fileType")
    file_name = e.string(prefix + ".fileName")
    end_point = e.string(prefix + ".network.endPoint")
    ftype = file_type.lower() if file_type is not None else "device"  # VMware omits it for devices
    if ftype in ("device", "pipe"):
        kind = "dev" if ftype == "device" else "pipe"
        source = f"      <source path='{xml_escape(file_name)}'/>\n" if file_name is not None else ""
        return CharDev(kind, source, port)
    if ftype == "file":
        if file_name is None:
            raise ConversionError(
                f"missing VMX entry '{prefix}.fileName' for a serial port of fileType 'file'"
            )
        path = resolve(file_name, False, prefix + ".fileName")
        source = f"      <source path='{xml_escape(path)}'/>\n" if path is not None else ""
        return CharDev("file", source, port)
    if ftype == "network":
        name = prefix + ".fileName"
        if file_name is None:
            raise ConversionError(f"missing VMX entry '{name}' for a serial port of fileType 'network'")
        m = _URI.match(file_name)
        if m is None:
            raise e.error(name, f"must be a URI such as 'telnet://host:port', found {file_name!r}")
        scheme, host, port_text = m.groups()
        if not port_text or int(port_text) == 0:
            raise e.error(name, f"has no port part: {file_name!r}")
        service = int(port_text)
        if service > 0x7FFFFFFF:
            raise e.error(name, f"has an invalid port number: {file_name!r}")
        protocol = "raw" if scheme is None else _TCP_PROTOCOLS.get(scheme.lower())
        if protocol is None:
            raise e.error(name, f"uses the unsupported scheme {scheme!r} (tcp, telnet, telnets or ssl)")
        if host.startswith("["):
            host = host[1:-1]
        ep = end_point.lower() if end_point is not None else "server"
        if ep not in ("server", "client"):
            raise e.error(prefix + ".network.endPoint", f"must be 'server' or 'client', found {end_point!r}")
        mode = "bind" if ep == "server" else "connect"
        host_attr = f"host='{xml_escape(host)}' " if host else ""
        source = (
            f"      <source mode='{mode}' {host_attr}service='{service}'/>\n"
            f"      <protocol type='{protocol}'/>\n"
        )
        return CharDev("tcp", source, port)
    raise e.error(prefix + ".fileType", f"must be 'device', 'file', 'pipe' or 'network', found {file_type!r}")


def read_parallel(e: Entries, port: int, resolve: FileResolver) -> CharDev | None:
    prefix = f"parallel{port}"
    if not e.present(prefix):
        return None
    file_type = e.string(prefix + ".fileType", required=True) or ""
    file_name = e.string(prefix + ".fileName", required=True) or ""
    ftype = file_type.lower()
    if ftype == "device":
        return CharDev("dev", f"      <source path='{xml_escape(file_name)}'/>\n", port)
    if ftype == "file":
        path = resolve(file_name, False, prefix + ".fileName")
        source = f"      <source path='{xml_escape(path)}'/>\n" if path is not None else ""
        return CharDev("file", source, port)
    raise e.error(prefix + ".fileType", f"must be 'device' or 'file', found {file_type!r}")


def format_chardev(element: str, dev: CharDev, target: str) -> str:
    return f"    <{element} type='{dev.kind}'>\n{dev.source}      {target}\n    </{element}>\n"


# -- domain XML -> VMX ----------------------------------------------------------------------


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
