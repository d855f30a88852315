"""Disks, CD-ROMs, floppies and their controllers: VMX entries -> domain XML (``read_disk``,
``format_disk_xml``) and domain XML -> VMX entries (``parse_disk``, ``format_disks_vmx``),
side by side as in libvirt's vmx.c.

Longer than esxnb's other modules (about 700 lines) on purpose: the two directions share the
bus, unit and controller-model rules, and splitting them again would separate a rule from
its inverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ..errors import ConversionError, RestrictionError
from ._from_native_values import Entries, disk_name, xml_escape
from ._to_native_values import disk_name_index, first_children, parse_enum, parse_uint

# (file name, allow_missing, VMX key naming it) -> datastore path; None = missing (only when allowed)
FileResolver = Callable[[str, bool, str], "str | None"]


# VMX scsiN.virtualDev -> domain XML controller model
VMX_SCSI_MODELS = {
    "buslogic": "buslogic",
    "lsilogic": "lsilogic",
    "lsisas1068": "lsisas1068",
    "pvscsi": "vmpvscsi",
}


DISK_TYPES = ("file", "block", "dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa")


DISK_DEVICES = ("disk", "cdrom", "floppy", "lun")


DISK_BUSES = ("ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd")


CACHE_MODES = ("default", "none", "writethrough", "writeback", "directsync", "unsafe")


STARTUP_POLICIES = ("mandatory", "requisite", "optional")


CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci", "xenbus", "isa")


SCSI_MODELS = (
    "auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi",
    "lsisas1078", "virtio-transitional", "virtio-non-transitional", "ncr53c90", "dc390", "am53c974",
)  # fmt: skip


# libvirt model name -> scsiN.virtualDev
ESX_SCSI_MODELS = {
    "buslogic": "buslogic",
    "lsilogic": "lsilogic",
    "lsisas1068": "lsisas1068",
    "vmpvscsi": "pvscsi",
}


_ESX_MODEL_LIST = "'buslogic', 'lsilogic', 'lsisas1068' or 'vmpvscsi'"


SCSI_CONTROLLERS, SCSI_UNITS = 4, 15  # 16 ids per bus, id 7 is the controller itself


SATA_CONTROLLERS, SATA_UNITS = 4, 30


SCSI_WIDE_UNITS = 64  # a PVSCSI controller has targets 0..63 from virtual hardware 13 on


SCSI_WIDE_MIN_HW_VERSION = 13


SATA_MIN_HW_VERSION = 10


# (controller model getter for one disk path) -> model name or None when it has no opinion
Autodetect = Callable[[str], "str | None"]


# -- VMX -> domain XML ----------------------------------------------------------------------


@dataclass(slots=True)
class VMXDisk:
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


def format_disk_xml(disk: VMXDisk) -> str:
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
) -> VMXDisk | None:
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
        return VMXDisk(
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
    return VMXDisk(kind, bus, dst, source_type, source, *address, readonly=True, startup_optional=optional)


def _floppy(
    e: Entries,
    prefix: str,
    file_type: str | None,
    file_name: str | None,
    dst: str,
    index: int,
    resolve: FileResolver,
) -> VMXDisk:
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
    return VMXDisk("floppy", "fdc", dst, source_type, source, 0, 0, index)


# -- domain XML -> VMX ----------------------------------------------------------------------


class XMLDisk:
    """One ``<disk>`` after libvirt's parse and post-parse defaults."""

    __slots__ = (
        "dst", "parsed_bus", "bus", "device", "type", "source", "startup", "cache",
        "transient", "driver", "address", "controller", "unit", "line", "index",
    )  # fmt: skip

    def describe(self) -> str:
        return f"{self.bus} {self.device} '{self.dst}'"


def parse_disk(el: etree._Element) -> XMLDisk:
    d = XMLDisk()
    d.line = el.sourceline
    d.type = parse_enum(el.get("type"), DISK_TYPES, "<disk type=...>", default="file")
    d.device = parse_enum(el.get("device"), DISK_DEVICES, "<disk device=...>", default="disk")
    kids = first_children(el)
    target = kids.get("target")
    d.dst = target.get("dev") if target is not None else None
    if not d.dst:
        source = kids.get("source")
        named = f" (source {dict(source.attrib)})" if source is not None and len(source.attrib) else ""
        raise ConversionError(f"a <disk> on line {d.line} has no <target dev='...'/>{named}")
    d.index = disk_name_index(d.dst)
    d.parsed_bus = parse_enum(target.get("bus"), DISK_BUSES, f"disk '{d.dst}' <target bus=...>")  # type: ignore[union-attr]
    d.source = None
    d.startup = None
    source = kids.get("source")
    if d.type == "block" and source is None:
        # libvirt's domain parser makes a block disk without a source a file disk (an empty
        # CD-ROM or floppy drive), so it is written as one
        d.type = "file"
    if source is not None:
        attr = {"file": "file", "block": "dev", "dir": "dir"}.get(d.type)
        if attr is not None:
            d.source = source.get(attr) or None
        d.startup = parse_enum(source.get("startupPolicy"), STARTUP_POLICIES, f"disk '{d.dst}' startupPolicy")
    d.driver = None
    d.cache = "default"
    driver = kids.get("driver")
    if driver is not None:
        d.driver = driver.get("name")
        d.cache = parse_enum(
            driver.get("cache"), CACHE_MODES, f"disk '{d.dst}' <driver cache=...>", default="default"
        )
    d.transient = "transient" in kids
    d.address = None
    address = kids.get("address")
    if address is not None:
        kind = address.get("type")
        if kind != "drive":
            raise ConversionError(
                f"disk '{d.dst}' has an address of type {kind!r}; ESX disks take <address type='drive' .../> "
                f"or none (the address follows from the target dev)"
            )
        d.address = tuple(
            parse_uint(address.get(name) or "0", f"disk '{d.dst}' address {name}")
            for name in ("controller", "bus", "unit")
        )
    _post_parse(d)
    return d


def _post_parse(d: XMLDisk) -> None:
    """libvirt's defaults and validation for a single disk."""
    bus = d.parsed_bus
    if bus is None:
        if d.device == "floppy":
            bus = "fdc"
        else:
            bus = "ide"
            for prefix, implied in (
                ("hd", "ide"),
                ("sd", "scsi"),
                ("vd", "virtio"),
                ("xvd", "xen"),
                ("ubd", "uml"),
            ):
                if d.dst.startswith(prefix):
                    bus = implied
                    break
    d.bus = bus
    if d.device == "floppy" and bus != "fdc":
        raise ConversionError(f"floppy '{d.dst}' is on bus '{bus}'; floppies use bus 'fdc' (fda, fdb)")
    if d.device != "floppy" and bus == "fdc":
        raise ConversionError(f"{d.device} '{d.dst}' is on bus 'fdc', which only takes floppies")
    if d.device == "lun" and d.type not in ("block", "volume", "network"):
        raise ConversionError(f"lun '{d.dst}' has type '{d.type}'; disk device='lun' needs type='block'")
    if d.startup is not None:
        if d.type not in ("file", "block", "dir", "volume"):
            raise ConversionError(f"disk '{d.dst}': startupPolicy is not allowed for type '{d.type}'")
        if d.startup == "requisite" and d.device not in ("cdrom", "floppy"):
            raise ConversionError(
                f"disk '{d.dst}': startupPolicy 'requisite' is only allowed for a cdrom or floppy"
            )


def insert_disk(disks: list[XMLDisk], disk: XMLDisk) -> None:
    """Insert as libvirt does while parsing: after the disks of the same bus, ordered by index."""
    at = -1
    for i in range(len(disks) - 1, -1, -1):
        other = disks[i]
        if other.parsed_bus == disk.parsed_bus:
            if other.index > disk.index:
                at = i
            elif at == -1:
                at = i + 1
    if at == -1:
        disks.append(disk)
    else:
        disks.insert(at, disk)


def parse_controller(el: etree._Element) -> tuple[str, int | None, str | None]:
    """``(type, index or None, model or None)``; only SCSI models matter for ESX."""
    kind = parse_enum(el.get("type"), CONTROLLER_TYPES, "<controller type=...>")
    if kind is None:
        raise ConversionError(f"the <controller> on line {el.sourceline} has no type attribute")
    index_text = el.get("index")
    index = parse_uint(index_text, f"{kind} controller index") if index_text is not None else None
    model = el.get("model")
    if kind == "scsi":
        model = parse_enum(model, SCSI_MODELS, "SCSI controller model")
    return kind, index, model


_PREFIX = {"scsi": "sd", "sata": "sd", "ide": "hd", "fdc": "fd"}


def _place(d: XMLDisk) -> None:
    """Controller and unit from the target dev; checks any explicit address against it."""
    bus = d.bus
    if bus not in _PREFIX:
        raise ConversionError(
            f"{d.device} '{d.dst}' is on bus '{bus}'; ESX supports the 'scsi', 'ide' and 'sata' buses "
            f"for disks and CD-ROMs and 'fdc' for floppies"
        )
    prefix = _PREFIX[bus]
    if not d.dst.startswith(prefix):
        raise ConversionError(
            f"{d.describe()}: the target dev of a device on bus '{bus}' must start with '{prefix}'"
        )
    idx = d.index
    if idx < 0:
        raise ConversionError(
            f"{d.describe()}: the target dev is not a disk name like {prefix}a or {prefix}b"
        )
    if bus == "scsi":
        controller, unit = divmod(idx, SCSI_UNITS)
        if unit >= 7:
            unit += 1
        libvirt_address = [(controller, 0, unit)]
        wide = _wide_scsi_address(d, idx)
        if wide is not None:  # e.g. scsi0:16 of a PVSCSI controller, named sdp by the VMX reader
            controller, unit = wide[0], wide[2]
            libvirt_address.append(wide)
        elif controller >= SCSI_CONTROLLERS:
            raise ConversionError(
                f"{d.describe()} would sit on SCSI controller {controller}; ESX has SCSI controllers 0..3 "
                f"with 15 disks each (sda..sdbh)"
            )
    elif bus == "ide":
        controller, unit = idx // 4, idx % 2
        libvirt_address = [(controller, (idx % 4) // 2, unit)]
        if controller != 0:
            raise ConversionError(
                f"{d.describe()}: ESX has one IDE controller with 2 buses of 2 units (hda..hdd)"
            )
        controller = (idx % 4) // 2  # the VMX numbers IDE buses: ide<bus>:<unit>
    elif bus == "fdc":
        controller, unit = 0, idx % 2
        libvirt_address = [(idx // 2, 0, unit)]
        if idx >= 2:
            raise ConversionError(f"{d.describe()}: ESX has two floppy drives (fda, fdb)")
    else:  # sata: the VMX holds 30 units per controller, libvirt's generic rule is 6
        controller, unit = divmod(idx, SATA_UNITS)
        libvirt_address = [(controller, 0, unit), (idx // 6, 0, idx % 6)]
        if controller >= SATA_CONTROLLERS:
            raise ConversionError(
                f"{d.describe()} would sit on SATA controller {controller}; ESX has SATA controllers 0..3 "
                f"with 30 units each"
            )
    if d.address is not None and d.address not in libvirt_address:
        expected = libvirt_address[0]
        raise ConversionError(
            f"{d.describe()}: address controller={d.address[0]} bus={d.address[1]} unit={d.address[2]} does not "
            f"match the target dev, which means controller={expected[0]} bus={expected[1]} unit={expected[2]} "
            f"(drop the <address/> or fix it)"
        )
    d.controller = controller
    d.unit = unit


def _wide_scsi_address(d: XMLDisk, idx: int) -> tuple[int, int, int] | None:
    """An explicit address beyond unit 15 (PVSCSI has 64 targets from hardware version 13).

    libvirt's XML rule gives 15 disks per controller, so it refuses such a disk. The VMX
    reader names ``scsiC:U`` disk number ``C * 15 + U`` (``C * 63 + U`` in the 64-unit
    scheme), minus one above unit 7; an address that agrees with either is taken as is.
    """
    if d.address is None:
        return None
    controller, bus, unit = d.address
    if bus != 0 or unit <= 15 or unit >= SCSI_WIDE_UNITS or controller >= SCSI_CONTROLLERS:
        return None
    number = unit - 1  # unit > 15 > 7
    if idx not in (controller * SCSI_UNITS + number, controller * (SCSI_WIDE_UNITS - 1) + number):
        return None
    return d.address


def _check_duplicates(disks: list[XMLDisk]) -> None:
    seen: dict[str, XMLDisk] = {}
    for d in disks:
        if d.dst in seen:
            raise ConversionError(
                f"target dev '{d.dst}' is used by two disks (lines {seen[d.dst].line} and {d.line})"
            )
        seen[d.dst] = d


def _scsi_models(
    disks: list[XMLDisk], controllers: dict[int, str | None], autodetect: Autodetect | None
) -> dict[int, str | None]:
    """The model of every SCSI controller that has disks (None = let ESX choose)."""
    for d in disks:  # the deprecated <driver name='lsilogic'/> on a SCSI disk sets its controller model
        if d.bus != "scsi" or d.driver is None:
            continue
        model = d.driver.lower()
        if model not in SCSI_MODELS:
            raise ConversionError(
                f"{d.describe()} has <driver name='{d.driver}'/>, which is not a SCSI controller model "
                f"(expected {_ESX_MODEL_LIST}; better, set it on <controller type='scsi'>)"
            )
        current = controllers[d.controller]
        if current is None:
            controllers[d.controller] = model
        elif current != model:
            raise ConversionError(
                f"inconsistent SCSI controller model for SCSI controller {d.controller}: "
                f"{d.describe()} says '{d.driver}' but the controller is '{current}'"
            )
    present: dict[int, str | None] = {}
    for index in sorted(controllers):
        attached = [d for d in disks if d.bus == "scsi" and d.controller == index]
        if not attached:
            continue
        model = controllers[index]
        if model == "auto":
            model = _autodetect(index, attached, autodetect)
        if model is not None and model not in ESX_SCSI_MODELS:
            raise ConversionError(
                f"SCSI controller {index} has model '{model}'; ESX supports {_ESX_MODEL_LIST}"
            )
        wide = next((d for d in attached if d.unit > 15), None)
        if wide is not None and model != "vmpvscsi":
            current = f"'{model}'" if model else "of the default model"
            raise RestrictionError(
                f"{wide.describe()} sits at unit {wide.unit} of SCSI controller {index}, which only a "
                f"'vmpvscsi' controller has (other models have units 0..15); the controller is {current}"
            )
        present[index] = model
    return present


def _autodetect(index: int, attached: list[XMLDisk], autodetect: Autodetect | None) -> str:
    if autodetect is None:  # offline, as libvirt's own tests: the .vmdk cannot be read
        return "lsilogic"
    found: dict[str, str] = {}
    for d in attached:
        if d.device == "disk" and d.type == "file" and d.source and d.source.startswith("["):
            model = autodetect(d.source)
            if model is not None:
                found[d.source] = model
    models = set(found.values())
    if len(models) > 1:
        listing = ", ".join(f"{path} -> {model}" for path, model in found.items())
        raise ConversionError(
            f"disks on SCSI controller {index} have inconsistent controller models ({listing}); "
            f"cannot auto-detect, set <controller type='scsi' index='{index}' model='...'/>"
        )
    if not models:
        raise ConversionError(
            f"cannot auto-detect the model of SCSI controller {index}: none of its disks is a .vmdk on a "
            f"datastore; set <controller type='scsi' index='{index}' model='...'/>"
        )
    model = models.pop()
    if model not in ESX_SCSI_MODELS:
        raise ConversionError(
            f"auto-detected SCSI controller {index} model '{model}' is not one of {_ESX_MODEL_LIST}"
        )
    return model


def _has_suffix(path: str, suffix: str) -> bool:
    return path.lower().endswith(suffix)


def _format_disk_vmx(d: XMLDisk, to_vmx_path: Callable[[str], str], out: list[tuple[str, str]]) -> None:
    if d.type not in ("file", "block"):
        raise ConversionError(f"{d.describe()} has type '{d.type}'; ESX supports 'file' and 'block'")
    device, kind, src = d.device, d.type, d.source
    if device == "disk":
        if kind != "file":
            raise ConversionError(
                f"{d.describe()} has type 'block'; ESX hard disks are .vmdk files (type='file')"
            )
        vmx_type = {"scsi": "scsi-hardDisk", "ide": "ata-hardDisk", "sata": None}[d.bus]
    elif device == "cdrom":
        vmx_type = "cdrom-image" if kind == "file" else "atapi-cdrom"
    else:  # lun: a raw host CD-ROM, or SCSI passthrough of an ESX CD-ROM device
        if d.bus == "scsi" and src and src.startswith("/vmfs/devices/cdrom/"):
            vmx_type = "scsi-passthru"
        else:
            vmx_type = "cdrom-raw"
    prefix = f"{d.bus}{d.controller}:{d.unit}"
    out.append((f"{prefix}.present", "true"))
    if vmx_type is not None:
        out.append((f"{prefix}.deviceType", vmx_type))
    if kind == "file":
        if src is not None:
            suffix = ".vmdk" if device == "disk" else ".iso"
            if not _has_suffix(src, suffix):
                raise ConversionError(
                    f"image file {src!r} of {d.describe()} has an unsupported suffix, expecting '{suffix}'"
                )
            out.append((f"{prefix}.fileName", to_vmx_path(src)))
        elif device == "cdrom":
            out.append((f"{prefix}.fileName", "emptyBackingString"))
        else:
            raise ConversionError(f"{d.describe()} has no <source file='[datastore] path.vmdk'/>")
    elif src is None:
        if d.startup == "optional":
            out.append((f"{prefix}.autodetect", "true"))
            out.append((f"{prefix}.fileName", "auto detect"))
        # else: a host device without a name, as the VMX reader gives for one; libvirt writes "(null)"
    else:
        out.append((f"{prefix}.fileName", src))
    if d.bus in ("scsi", "sata"):
        if d.cache == "writethrough":
            out.append((f"{prefix}.writeThrough", "true"))
        elif d.cache != "default":
            raise ConversionError(
                f"{d.describe()} has cache mode '{d.cache}'; ESX supports 'writethrough' or the default"
            )
    if d.transient:
        out.append((f"{prefix}.mode", "independent-nonpersistent"))


def _format_floppy(d: XMLDisk, to_vmx_path: Callable[[str], str], out: list[tuple[str, str]]) -> None:
    prefix = f"floppy{d.unit}"
    if d.type == "file":
        out.append((f"{prefix}.present", "true"))
        out.append((f"{prefix}.fileType", "file"))
        if d.source is not None:
            out.append((f"{prefix}.fileName", to_vmx_path(d.source)))
    elif d.type == "block":
        out.append((f"{prefix}.present", "true"))
        out.append((f"{prefix}.fileType", "device"))
        if d.source is not None:
            out.append((f"{prefix}.fileName", d.source))
    else:
        raise ConversionError(f"floppy '{d.dst}' has type '{d.type}'; ESX supports 'file' and 'block'")


def format_disks_vmx(
    disks: list[XMLDisk],
    scsi_controllers: dict[int, str | None],
    *,
    to_vmx_path: Callable[[str], str],
    autodetect: Autodetect | None,
    virtual_hw_version: int,
    out: list[tuple[str, str]],
) -> bool:
    """Append controller, disk and floppy entries; True when a SCSI or SATA controller is present."""
    _check_duplicates(disks)
    for d in disks:
        _place(d)
        if d.bus == "scsi" and d.unit > 15 and virtual_hw_version < SCSI_WIDE_MIN_HW_VERSION:
            raise RestrictionError(
                f"{d.describe()} sits at SCSI unit {d.unit}; units above 15 need virtual hardware version "
                f"{SCSI_WIDE_MIN_HW_VERSION} or later, this conversion targets version {virtual_hw_version}"
            )
    controllers = dict(scsi_controllers)
    for d in disks:
        if d.bus == "scsi":
            controllers.setdefault(d.controller, None)  # libvirt's implicit controllers
    scsi = _scsi_models(disks, controllers, autodetect)
    for index in range(SCSI_CONTROLLERS):
        if index in scsi:
            out.append((f"scsi{index}.present", "true"))
            model = scsi[index]
            if model is not None:
                out.append((f"scsi{index}.virtualDev", ESX_SCSI_MODELS[model]))
    sata = sorted({d.controller for d in disks if d.bus == "sata"})
    if sata and virtual_hw_version < SATA_MIN_HW_VERSION:
        first = next(d for d in disks if d.bus == "sata")
        raise RestrictionError(
            f"{first.describe()} needs a SATA controller, which ESX supports from virtual hardware version "
            f"{SATA_MIN_HW_VERSION}; this conversion targets version {virtual_hw_version} "
            f"(pass virtual_hw_version={SATA_MIN_HW_VERSION} or use bus 'scsi' or 'ide')"
        )
    for index in sata:
        out.append((f"sata{index}.present", "true"))
    floppies = [False, False]
    for d in disks:
        if d.device == "floppy":
            _format_floppy(d, to_vmx_path, out)
            floppies[d.unit] = True
        else:
            _format_disk_vmx(d, to_vmx_path, out)
    for unit in (0, 1):
        if not floppies[unit]:  # floppyN.present defaults to true in VMware
            out.append((f"floppy{unit}.present", "false"))
    return bool(scsi or sata)
