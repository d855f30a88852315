"""Domain XML -> VMX, as ``virsh domxml-to-native vmware-vmx`` does it.

The rules are libvirt's (``src/vmx/vmx.c`` and the parts of its domain XML parser
that matter for a VMX): same entries, same order, same defaults. Where libvirt
would write a broken file or fail without saying why, this module refuses with
an error naming the element and the value.
"""

from __future__ import annotations

import re
import struct
import uuid as _uuid
from collections.abc import Mapping

from lxml import etree

from ..errors import ConversionError, EsxnbError, RestrictionError, ValidationError
from ._chardevs import format_parallel, format_serial, parallels_with_ports, parse_chr, serials_with_ports
from ._disks import format_disks_vmx, insert_disk, parse_controller, parse_disk
from ._display import format_video, format_vnc
from ._ethernet import format_interface
from ._filesystems import format_filesystems
from ._paths import DatastoreResolver, OfflineDatastores
from ._safexml import parse_xml
from ._to_native_values import (
    first_children,
    format_uuid_vmx,
    parse_bitmap,
    parse_enum,
    parse_memory_kib,
    parse_uint,
    parse_uuid,
    text_of,
)
from ._vmxfile import escape_hex, format_vmx
from ._xml_checks import check_domain

__all__ = ["domxml_to_native"]

MEMORY_STEP_KIB = 4096
# Control characters cannot stand raw in a VMX value; VMware writes them as |XX
_PIPE_SPECIAL = '"' + "".join(map(chr, range(32))) + "\x7f"
_NEEDS_PIPE_ESCAPE = re.compile(r'[|"\x00-\x1f\x7f]')
_NEEDS_PERCENT_ESCAPE = re.compile(r"[%/\\]")
_GRAPHICS_TYPES = ("sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus")
_CPU_MODES = ("custom", "host-model", "host-passthrough", "maximum")


def domxml_to_native(
    xml_text: str | bytes,
    *,
    virtual_hw_version: int = 4,
    datastores: Mapping[str, str] | None = None,
    resolver: DatastoreResolver | None = None,
    strict: bool = False,
) -> str:
    """Convert libvirt domain XML to the text of a VMware ``.vmx`` file.

    ``virtual_hw_version`` is the ``virtualHW.version`` to write (4 = ESX 3.x, 7 = ESX 4.0,
    ...). Datastore paths (``[datastore] dir/file``) become ``/vmfs/volumes/datastore/dir/file``
    through ``resolver``; without one, :class:`OfflineDatastores` (``datastores``) applies the
    offline rules. A resolver may also offer ``autodetect_scsi_model(datastore_path) -> str |
    None`` to pick the model of a ``model='auto'`` SCSI controller from its ``.vmdk``; offline
    that model is ``lsilogic``.

    Like libvirt, memory that is not a multiple of 4096 KiB is rounded up; with ``strict=True``
    it is refused with :class:`RestrictionError` instead. A vCPU count other than 1 or a
    multiple of 2 is always refused (the ESX restriction). Any problem raises a
    :class:`ConversionError` subclass naming the element and value.
    """
    if (
        isinstance(virtual_hw_version, bool)
        or not isinstance(virtual_hw_version, int)
        or virtual_hw_version < 4
    ):
        raise ValidationError(
            f"virtual_hw_version must be an integer of at least 4 (ESX 3.x), got {virtual_hw_version!r}"
        )
    if resolver is None:
        resolver = OfflineDatastores(datastores)
    elif datastores is not None:
        raise ValidationError("pass either datastores (offline names) or resolver, not both")
    try:
        root = parse_xml(xml_text)
        return _convert(root, virtual_hw_version, resolver, strict)
    except EsxnbError:
        raise
    except (KeyError, ValueError, IndexError, UnicodeError, OverflowError, etree.LxmlError) as exc:
        raise ConversionError(f"cannot convert the domain XML: {exc}") from exc


def _convert(root: etree._Element, hw: int, resolver: DatastoreResolver, strict: bool) -> str:
    if root.tag != "domain":
        raise ConversionError(f"unexpected root element <{root.tag}>, expecting <domain>")
    virt = root.get("type")
    if virt != "vmware":
        found = "no type attribute" if virt is None else f"type='{virt}'"
        raise ConversionError(f"ESX domains are <domain type='vmware'>, found {found}")
    check_domain(root)  # what libvirt's domain parser refuses
    first: dict[str, etree._Element] = {}
    devices: list[etree._Element] = []
    for child in root:
        tag = child.tag
        if tag == "devices":
            devices.append(child)
        elif isinstance(tag, str):
            first.setdefault(tag, child)

    out: list[tuple[str, str]] = [
        (".encoding", "UTF-8"),
        ("config.version", "8"),
        ("virtualHW.version", str(hw)),
    ]
    firmware = _format_os(first.get("os"), out)
    _format_identity(first, out)
    _format_memory(first, strict, out)
    _format_cpus(first, out)
    has_controllers = _format_devices(devices, hw, resolver, out)
    if firmware == "efi":
        out.append(("firmware", "efi"))
    if hw >= 7:
        _format_hw7(has_controllers, out)
    return format_vmx(out)


def _format_os(os_el: etree._Element | None, out: list[tuple[str, str]]) -> str | None:
    """guestOS and smbios.reflecthost; returns the firmware ('efi', 'bios' or None)."""
    os_kids = first_children(os_el) if os_el is not None else {}
    type_el = os_kids.get("type")
    if type_el is None:
        raise ConversionError("the domain XML needs an OS type: <os><type>hvm</type></os>")
    os_type = text_of(type_el)
    if os_type != "hvm":
        raise ConversionError(f"OS type {os_type!r} is not supported; ESX runs <type>hvm</type> domains")
    arch = type_el.get("arch")
    if arch is None or arch == "i686":
        out.append(("guestOS", "other"))
    elif arch == "x86_64":
        out.append(("guestOS", "other-64"))
    else:
        raise ConversionError(
            f"architecture '{arch}' is not supported; ESX takes <type arch='i686'> or 'x86_64'"
        )
    smbios = os_kids.get("smbios")
    if smbios is not None:
        mode = parse_enum(smbios.get("mode"), ("emulate", "host", "sysinfo"), "<smbios mode=...>")
        if mode == "host":
            out.append(("smbios.reflecthost", "true"))
        elif mode == "sysinfo":
            raise ConversionError("SMBIOS mode 'sysinfo' is not supported; ESX takes 'host' or 'emulate'")
        elif mode is None:
            raise ConversionError("<smbios> needs a mode ('host' or 'emulate')")
    return parse_enum(os_el.get("firmware"), ("bios", "efi"), "<os firmware=...>")  # type: ignore[union-attr]


def _format_identity(first: dict[str, etree._Element], out: list[tuple[str, str]]) -> None:
    uuid_el = first.get("uuid")
    if uuid_el is None:  # libvirt generates one, so does virsh domxml-to-native
        uuid = _uuid.uuid4().bytes
    else:
        uuid = parse_uuid(text_of(uuid_el), "<uuid>")
    if uuid == bytes(16):
        out.append(("uuid.action", "create"))
    else:
        out.append(("uuid.bios", format_uuid_vmx(uuid)))
    genid_el = first.get("genid")
    genid = text_of(genid_el).strip() if genid_el is not None else ""
    if genid:  # libvirt reads vm.genid(X) but does not write them; kept here for round trips
        high, low = struct.unpack(">qq", parse_uuid(genid, "<genid>"))
        out.append(("vm.genid", str(high)))
        out.append(("vm.genidX", str(low)))

    name_el = first.get("name")
    name = text_of(name_el) if name_el is not None else ""
    if not name:
        raise ConversionError("the domain XML needs a <name>")
    if "\n" in name:
        raise ConversionError(f"the domain name {name!r} contains a line break")
    if _NEEDS_PIPE_ESCAPE.search(name):
        name = escape_hex(name, "|", _PIPE_SPECIAL)
    if _NEEDS_PERCENT_ESCAPE.search(name):
        name = escape_hex(name, "%", "/\\")
    out.append(("displayName", name))

    description_el = first.get("description")
    description = text_of(description_el) if description_el is not None else ""
    if description:
        if _NEEDS_PIPE_ESCAPE.search(description):
            description = escape_hex(description, "|", _PIPE_SPECIAL)
        out.append(("annotation", description))


def _format_memory(first: dict[str, etree._Element], strict: bool, out: list[tuple[str, str]]) -> None:
    memory_el = first.get("memory")
    total = parse_memory_kib(memory_el, "memory") if memory_el is not None else 0
    if total == 0:
        raise ConversionError("the domain XML needs <memory> with a size greater than 0")
    if strict and total % MEMORY_STEP_KIB:
        below = total // MEMORY_STEP_KIB * MEMORY_STEP_KIB
        above = below + MEMORY_STEP_KIB
        valid = f"{below} KiB or {above} KiB" if below else f"{above} KiB"
        raise RestrictionError(
            f"memory {total} KiB breaks the ESX restriction 'memory size has to be a multiple of "
            f"{MEMORY_STEP_KIB} KiB (4 MiB)'; use {valid}"
        )
    current_el = first.get("currentMemory")
    current = parse_memory_kib(current_el, "currentMemory") if current_el is not None else 0
    if current == 0 or current > total:
        current = total
    max_balloon = -(-total // MEMORY_STEP_KIB) * MEMORY_STEP_KIB
    out.append(("memsize", str(max_balloon // 1024)))
    if current < max_balloon:
        out.append(("sched.mem.max", str(-(-current // 1024))))
    memtune = first.get("memtune")
    guarantee_el = memtune.find("min_guarantee") if memtune is not None else None
    if guarantee_el is not None:
        guarantee = parse_memory_kib(guarantee_el, "min_guarantee")
        if guarantee > 0:
            out.append(("sched.mem.minsize", str(-(-guarantee // 1024))))


def _format_cpus(first: dict[str, etree._Element], out: list[tuple[str, str]]) -> None:
    vcpus = 1
    cpuset: list[int] = []
    vcpu_el = first.get("vcpu")
    if vcpu_el is not None:
        vcpus = parse_uint(text_of(vcpu_el), "<vcpu> (the number of virtual CPUs)")
        current = vcpu_el.get("current")
        if current is not None:
            count = parse_uint(current, "<vcpu current=...>")
            if count > vcpus:
                raise ConversionError(f"<vcpu current='{count}'> is more than the maximum of {vcpus} vCPUs")
            if count < vcpus:
                raise ConversionError(
                    f"<vcpu current='{count}'> is not supported: ESX has no offline vCPUs, drop 'current'"
                )
        placement = parse_enum(
            vcpu_el.get("placement"), ("static", "auto"), "<vcpu placement=...>", default="static"
        )
        spec = vcpu_el.get("cpuset")
        if placement != "auto" and spec is not None:
            cpuset = parse_bitmap(spec, "<vcpu cpuset=...>")
            if not cpuset:
                raise ConversionError(f"<vcpu cpuset={spec!r}> selects no CPU")
    if vcpus == 0:
        raise ConversionError("<vcpu> must be greater than 0")
    if vcpus != 1 and vcpus % 2:
        raise RestrictionError(
            f"{vcpus} vCPUs break the ESX restriction 'the number of virtual CPUs has to be 1 or a "
            f"multiple of 2'; use {vcpus - 1} or {vcpus + 1}"
        )
    out.append(("numvcpus", str(vcpus)))

    cpu_el = first.get("cpu")
    if cpu_el is not None:
        mode = parse_enum(cpu_el.get("mode"), _CPU_MODES, "<cpu mode=...>", default="custom")
        if mode != "custom":
            raise ConversionError(
                f"<cpu mode='{mode}'> is not supported; ESX takes mode 'custom' (a topology)"
            )
        topology = cpu_el.find("topology")
        if topology is None:
            raise ConversionError(
                "<cpu> needs <topology sockets='S' cores='C' threads='1'/>; ESX reads only that"
            )
        counts = {}
        for name in ("sockets", "dies", "cores", "threads"):
            value = topology.get(name)
            if value is None:
                if name != "dies":
                    raise ConversionError(f"<topology> needs a '{name}' attribute")
                counts[name] = 1
                continue
            counts[name] = parse_uint(value, f"<topology {name}=...>")
            if counts[name] == 0:
                raise ConversionError(f"<topology {name}='0'>: the count must be greater than 0")
        if counts["threads"] != 1:
            raise ConversionError(f"<topology threads='{counts['threads']}'>: ESX supports 1 thread per core")
        if counts["dies"] != 1:
            raise ConversionError(f"<topology dies='{counts['dies']}'>: ESX supports 1 die per socket")
        if counts["sockets"] * counts["cores"] != vcpus:
            raise ConversionError(
                f"<topology sockets='{counts['sockets']}' cores='{counts['cores']}'> makes "
                f"{counts['sockets'] * counts['cores']} vCPUs, but <vcpu> says {vcpus}"
            )
        out.append(("cpuid.coresPerSocket", str(counts["cores"])))

    if cpuset:
        if len(cpuset) < vcpus:
            raise ConversionError(f"<vcpu cpuset=...> must name at least {vcpus} CPUs (one per vCPU)")
        out.append(("sched.cpu.affinity", ",".join(map(str, cpuset))))

    cputune = first.get("cputune")
    shares_el = cputune.find("shares") if cputune is not None else None
    if shares_el is not None:
        shares = parse_uint(text_of(shares_el), "<cputune><shares>", limit=2**64 - 1)
        # ESX's named levels are 500, 1000 and 2000 shares per vCPU
        level = {500 * vcpus: "low", 1000 * vcpus: "normal", 2000 * vcpus: "high"}.get(shares, str(shares))
        out.append(("sched.cpu.shares", level))


def _format_devices(
    devices: list[etree._Element], hw: int, resolver: DatastoreResolver, out: list[tuple[str, str]]
) -> bool:
    """Append every device's entries; True when a SCSI or SATA controller is present."""
    disks: list = []
    scsi_controllers: dict[int, str | None] = {}
    unnumbered_scsi: list[str | None] = []
    interfaces, videos, graphics, filesystems = [], [], [], []
    serials, parallels, consoles = [], [], []
    for parent in devices:
        for el in parent:
            tag = el.tag
            if tag == "disk":
                insert_disk(disks, parse_disk(el))
            elif tag == "controller":
                kind, index, model = parse_controller(el)
                if kind == "scsi":
                    if index is None:
                        unnumbered_scsi.append(model)
                    elif index in scsi_controllers:
                        raise ConversionError(f"two SCSI controllers have index {index}")
                    else:
                        scsi_controllers[index] = model
            elif tag == "interface":
                interfaces.append(el)
            elif tag == "serial":
                serials.append(parse_chr(el))
            elif tag == "parallel":
                parallels.append(parse_chr(el))
            elif tag == "console":
                consoles.append(parse_chr(el))
            elif tag == "video":
                videos.append(el)
            elif tag == "graphics":
                graphics.append(el)
            elif tag == "filesystem":
                filesystems.append(el)
            # input, sound, hostdev, memballoon...: nothing in a VMX for them, as in libvirt
    for model in unnumbered_scsi:  # an index-less controller takes the first free one
        index = next(i for i in range(len(scsi_controllers) + 1) if i not in scsi_controllers)
        scsi_controllers[index] = model
    serials = serials_with_ports(serials, consoles)
    parallels = parallels_with_ports(parallels)

    vnc_seen = False
    for el in graphics:
        kind = parse_enum(el.get("type"), _GRAPHICS_TYPES, "<graphics type=...>")
        if kind is None:
            raise ConversionError("<graphics> needs a type attribute ('vnc')")
        if kind != "vnc":
            raise ConversionError(f"graphics type '{kind}' is not supported; ESX offers 'vnc'")
        if vnc_seen:
            raise ConversionError("ESX supports one VNC display; the XML has several <graphics type='vnc'>")
        vnc_seen = True
        format_vnc(el, out)
    if graphics and not videos:
        videos.append(None)  # libvirt adds the video device a display needs

    to_vmx_path = resolver.to_vmx_path
    has_controllers = format_disks_vmx(
        disks,
        scsi_controllers,
        to_vmx_path=to_vmx_path,
        autodetect=getattr(resolver, "autodetect_scsi_model", None),
        virtual_hw_version=hw,
        out=out,
    )
    format_filesystems(filesystems, out)
    for index, el in enumerate(interfaces):
        format_interface(el, index, hw, out)
    if videos:
        format_video(videos, out)
    for chr_ in serials:
        format_serial(chr_, to_vmx_path, out)
    for chr_ in parallels:
        format_parallel(chr_, to_vmx_path, out)
    return has_controllers


def _format_hw7(has_controllers: bool, out: list[tuple[str, str]]) -> None:
    if has_controllers:  # storage controllers sit behind PCI bridges from hardware version 7 on
        out.append(("pciBridge0.present", "true"))
        for bridge in (4, 5, 6, 7):
            out.append((f"pciBridge{bridge}.present", "true"))
            out.append((f"pciBridge{bridge}.virtualDev", "pcieRootPort"))
            out.append((f"pciBridge{bridge}.functions", "8"))
    out.append(("vmci0.present", "true"))
