"""VMX device entries -> domain XML device elements (disks, controllers, NICs, ports...).

Each reader mirrors what libvirt's vmx.c accepts and refuses; each returns the XML of
one device (indented for ``<devices>``) or None when the device is absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConversionError
from ._from_native_values import Entries, disk_name, parse_mac, parse_uuid, xml_escape

__all__ = [
    "CharDev",
    "Disk",
    "format_chardev",
    "read_disk",
    "read_filesystem",
    "read_ethernet",
    "read_serial",
    "read_parallel",
    "read_vnc",
    "format_disk",
    "SCSI_MODELS",
]

# (file name, allow_missing, VMX key naming it) -> datastore path; None = missing (only when allowed)
FileResolver = Callable[[str, bool, str], "str | None"]

# VMX scsiN.virtualDev -> domain XML controller model
SCSI_MODELS = {
    "buslogic": "buslogic",
    "lsilogic": "lsilogic",
    "lsisas1068": "lsisas1068",
    "pvscsi": "vmpvscsi",
}


@dataclass(slots=True)
class Disk:
    device: str  # disk, cdrom, lun, floppy
    bus: str  # scsi, sata, ide, fdc
    dst: str
    source_type: str  # file, block
    source: str | None
    controller: int
    address_bus: int
    unit: int
    readonly: bool = False
    writethrough: bool = False
    transient: bool = False
    startup_optional: bool = False


def format_disk(disk: Disk) -> str:
    out = [f"    <disk type='{disk.source_type}' device='{disk.device}'>\n"]
    if disk.writethrough:
        out.append("      <driver cache='writethrough'/>\n")
    attrs = ""
    if disk.source is not None:
        kind = "file" if disk.source_type == "file" else "dev"
        attrs = f" {kind}='{xml_escape(disk.source)}'"
    if disk.startup_optional:
        attrs += " startupPolicy='optional'"
    if attrs:
        out.append(f"      <source{attrs}/>\n")
    out.append(f"      <target dev='{disk.dst}' bus='{disk.bus}'/>\n")
    if disk.readonly:
        out.append("      <readonly/>\n")
    if disk.transient:
        out.append("      <transient/>\n")
    out.append(
        f"      <address type='drive' controller='{disk.controller}' bus='{disk.address_bus}' "
        f"target='0' unit='{disk.unit}'/>\n    </disk>\n"
    )
    return "".join(out)


def _drive_address(bus: str, index: int, scsi_max_unit: int) -> tuple[int, int, int]:
    """(controller, bus, unit) libvirt derives from a target name's index."""
    if bus == "scsi":
        per = scsi_max_unit - 1
        controller, unit = divmod(index, per)
        if unit >= 7:
            unit += 1
        return controller, 0, unit
    if bus == "ide":
        return index // 4, (index % 4) // 2, index % 2
    if bus == "sata":
        return index // 6, 0, index % 6
    return index // 2, 0, index % 2  # fdc


def read_disk(
    e: Entries,
    bus: str,
    controller: int,
    unit: int,
    scsi_max_unit: int,
    resolve: FileResolver,
) -> Disk | None:
    """One disk slot (``scsi0:1``, ``sata0:2``, ``ide1:0``, ``floppy0``), None when absent.

    libvirt reads a slot twice, as a hard disk and then as a CD-ROM, each pass leaving
    to the other what it does not recognise; this reads the entries once and follows
    the same decisions in the same order.
    """
    if bus == "scsi":
        prefix = f"scsi{controller}:{unit}"
        index = controller * 15 + (unit if unit < 7 else unit - 1)
        dst = disk_name("sd", index)
    elif bus == "sata":
        prefix = f"sata{controller}:{unit}"
        index = controller * 30 + unit
        dst = disk_name("sd", index)
    elif bus == "ide":
        prefix = f"ide{controller}:{unit}"
        index = controller * 2 + unit
        dst = disk_name("hd", index)
    else:
        prefix = f"floppy{unit}"
        index = unit
        dst = disk_name("fd", index)

    if not e.present(prefix):
        return None
    get = e.lower.get
    low = prefix.lower()
    device_type = get(low + ".devicetype")
    if e.boolean(prefix + ".clientDevice", False):
        return None  # a device of the machine running the VI Client: nothing to describe
    file_type = get(low + ".filetype")
    file_name = get(low + ".filename")
    if bus == "fdc":
        return _floppy(e, prefix, file_type, file_name, dst, index, resolve)
    mode = get(low + ".mode")
    writethrough = e.boolean(prefix + ".writeThrough", False)
    dtype = device_type.lower() if device_type is not None else None
    address = _drive_address(bus, index, scsi_max_unit)
    name_low = file_name.lower() if file_name is not None else ""

    # as a hard disk
    if not (
        file_name is None
        or name_low.endswith(".iso")
        or file_name == "emptyBackingString"
        or dtype in ("atapi-cdrom", "cdrom-raw", "cdrom-image")
        or (dtype == "scsi-passthru" and file_name.startswith("/vmfs/devices/cdrom/"))
    ):
        if not name_low.endswith(".vmdk"):
            raise e.error(
                prefix + ".fileName",
                f"{file_name!r} is not a disk image this converter handles (deviceType {device_type or 'unknown'!r}); "
                f"hard disks are .vmdk files",
            )
        if dtype is not None:
            if bus == "scsi" and dtype not in ("scsi-harddisk", "disk"):
                raise e.error(
                    prefix + ".deviceType", f"must be 'scsi-hardDisk' or 'disk', found {device_type!r}"
                )
            if bus == "ide" and dtype not in ("ata-harddisk", "disk"):
                raise e.error(
                    prefix + ".deviceType", f"must be 'ata-hardDisk' or 'disk', found {device_type!r}"
                )
        source = resolve(file_name, False, prefix + ".fileName")
        transient = mode is not None and mode.lower() == "independent-nonpersistent"
        return Disk(
            "disk", bus, dst, "file", source, *address, writethrough=writethrough, transient=transient
        )

    # as a CD-ROM
    if name_low.endswith(".vmdk"):
        return None  # only reachable for odd deviceTypes: libvirt ignores the slot too
    kind = "cdrom"
    source_type = "file"
    source = None
    optional = False
    if name_low.endswith(".iso"):
        if dtype is not None and dtype != "cdrom-image":
            raise e.error(prefix + ".deviceType", f"must be 'cdrom-image' for an .iso, found {device_type!r}")
        source = resolve(file_name, True, prefix + ".fileName")  # type: ignore[arg-type]
    elif dtype == "atapi-cdrom" or dtype == "cdrom-raw":
        source_type = "block"
        if dtype == "cdrom-raw":
            kind = "lun"  # raw access CD-ROMs are device='lun'
        if name_low == "auto detect":
            optional = True
        else:
            source = file_name
    elif bus == "scsi" and dtype == "scsi-passthru":
        if file_name is None or not file_name.startswith("/vmfs/devices/cdrom/"):
            return None
        kind = "lun"
        source_type = "block"
        source = file_name
    elif file_name == "emptyBackingString":
        if dtype is not None and dtype != "cdrom-image":
            raise e.error(prefix + ".deviceType", f"must be 'cdrom-image', found {device_type!r}")
    else:
        raise e.error(
            prefix + ".fileName",
            f"{file_name!r} is not a disk or CD-ROM this converter handles "
            f"(deviceType {device_type or 'unknown'!r})",
        )
    return Disk(kind, bus, dst, source_type, source, *address, readonly=True, startup_optional=optional)


def _floppy(
    e: Entries,
    prefix: str,
    file_type: str | None,
    file_name: str | None,
    dst: str,
    index: int,
    resolve: FileResolver,
) -> Disk:
    ftype = file_type.lower() if file_type is not None else None
    source = None
    if ftype == "device":
        source_type = "block"
        source = file_name
    elif ftype == "file":
        source_type = "file"
        if file_name is not None:
            source = resolve(file_name, False, prefix + ".fileName")
    else:
        raise e.error(prefix + ".fileType", f"must be 'device' or 'file', found {file_type!r}")
    return Disk("floppy", "fdc", dst, source_type, source, 0, 0, index)


def read_filesystem(e: Entries, number: int) -> str | None:
    prefix = f"sharedFolder{number}"
    present = e.boolean(prefix + ".present", False)
    enabled = e.boolean(prefix + ".enabled", False)
    if not (present and enabled):
        return None
    host_path = e.string(prefix + ".hostPath", required=True)
    guest_name = e.string(prefix + ".guestName", required=True)
    write_access = e.boolean(prefix + ".writeAccess", False)
    readonly = "" if write_access else "      <readonly/>\n"
    return (
        "    <filesystem type='mount' accessmode='passthrough'>\n"
        f"      <source dir='{xml_escape(host_path)}'/>\n"
        f"      <target dir='{xml_escape(guest_name)}'/>\n"
        f"{readonly}    </filesystem>\n"
    )


_NET_MODELS = {
    "vlance": "vlance",
    "vmxnet": "vmxnet",
    "vmxnet3": "vmxnet3",
    "e1000": "e1000",
    "e1000e": "e1000e",
}
# names libvirt treats as generated tap names and leaves out of inactive XML
_GENERATED_IFNAMES = ("vnet", "macvtap", "macvlan")


def read_ethernet(e: Entries, number: int) -> str | None:
    prefix = f"ethernet{number}"
    if not e.present(prefix):
        return None
    connection_type = e.string(prefix + ".connectionType")
    address_type = e.string(prefix + ".addressType")
    generated = e.string(prefix + ".generatedAddress")
    address = e.string(prefix + ".address")
    check_mac = e.string(prefix + ".checkMACAddress")

    mac = "00:00:00:00:00:00"
    mac_type = ""
    atype = address_type.lower() if address_type is not None else None
    if atype is None or atype in ("generated", "vpx"):
        if generated is not None:
            parsed = parse_mac(generated)
            if parsed is None:
                raise e.error(prefix + ".generatedAddress", f"must be a MAC address, found {generated!r}")
            mac = parsed
        if atype is not None:
            mac_type = " type='generated'"
    elif atype == "static":
        if address is not None:
            parsed = parse_mac(address)
            if parsed is None:
                raise e.error(prefix + ".address", f"must be a MAC address, found {address!r}")
            mac = parsed
        mac_type = " type='static'"
    else:
        raise e.error(
            prefix + ".addressType", f"must be 'generated', 'static' or 'vpx', found {address_type!r}"
        )
    check = ""
    if check_mac is not None:
        check = " check='yes'" if check_mac == "true" else " check='no'"

    virtual_dev = e.string(prefix + ".virtualDev")
    features = e.integer(prefix + ".features", 0)
    model = None
    if virtual_dev is not None:
        model = _NET_MODELS.get(virtual_dev.lower())
        if model is None:
            raise e.error(
                prefix + ".virtualDev",
                f"must be 'vlance', 'vmxnet', 'vmxnet3', 'e1000' or 'e1000e', found {virtual_dev!r}",
            )
        if model == "vmxnet" and features == 15:
            model = "vmxnet2"

    ctype = connection_type.lower() if connection_type is not None else None
    network_name = None
    if ctype is None or ctype in ("bridged", "custom"):
        network_name = e.string(prefix + ".networkName", required=ctype is not None)
    vnet = None
    if ctype == "custom":
        vnet = e.string(prefix + ".vnet", required=True)
    switch_id = e.string(prefix + ".dvs.switchId")

    source = ""
    ifname = None
    if switch_id is not None:
        kind = "vds"
        switch_uuid = parse_uuid(switch_id)
        if switch_uuid is None:
            raise e.error(prefix + ".dvs.switchId", f"is not a UUID: {switch_id!r}")
        portgroup = e.string(prefix + ".dvs.portgroupId", required=True)
        port_id = e.integer(prefix + ".dvs.portId", 0, required=True)
        connection_id = e.integer(prefix + ".dvs.connectionId", 0, required=True)
        source = (
            f"      <source switchid='{switch_uuid}' portid='{port_id}' "
            f"portgroupid='{xml_escape(portgroup or '')}' connectionid='{connection_id}'/>\n"
        )
    elif ctype is None and network_name is None:
        kind = "null"
    elif ctype is None or ctype == "bridged" or ctype == "custom":
        kind = "bridge"
        if network_name is not None:
            source = f"      <source bridge='{xml_escape(network_name)}'/>\n"
        if ctype == "custom":
            ifname = vnet
    elif ctype == "nat":
        kind = "user"
    elif ctype == "hostonly":
        raise e.error(prefix + ".connectionType", "is 'hostonly', which this converter does not handle yet")
    else:
        raise e.error(
            prefix + ".connectionType",
            f"must be 'bridged', 'custom', 'nat' or 'hostonly', found {connection_type!r}",
        )
    target = ""
    if ifname is not None and not ifname.startswith(_GENERATED_IFNAMES):
        target = f"      <target dev='{xml_escape(ifname)}'/>\n"
    model_xml = f"      <model type='{model}'/>\n" if model else ""
    return (
        f"    <interface type='{kind}'>\n      <mac address='{mac}'{mac_type}{check}/>\n"
        f"{source}{target}{model_xml}    </interface>\n"
    )


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
