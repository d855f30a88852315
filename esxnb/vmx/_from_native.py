"""VMX -> libvirt domain XML, as ``virsh domxml-from-native vmware-vmx`` produces it.

The mapping and the checks follow libvirt's vmx.c; the output is laid out the way
libvirt formats a domain (element order, defaults, two-space indentation, ``'``-quoted
attributes), so that it can be compared byte for byte with what virsh prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import ConversionError, EsxnbError, RestrictionError, ValidationError, VMXSyntaxError
from ._chardevs import format_chardev, read_parallel, read_serial
from ._disks import VMX_SCSI_MODELS, VMXDisk, format_disk_xml, read_disk
from ._display import read_vnc
from ._ethernet import read_ethernet
from ._filesystems import read_filesystem
from ._from_native_values import Entries, format_bitmap, format_uuid, xml_escape
from ._paths import DatastoreResolver, OfflineDatastores, datastore_directory
from ._vmxfile import VMXFile, parse_vmx, unescape_hex

__all__ = ["domxml_from_native"]

VMWARE_NS = "http://libvirt.org/schemas/domain/vmware/1.0"
CPUMASK_LEN = 16384  # libvirt's VIR_DOMAIN_CPUMASK_LEN
_UINT32 = 1 << 32
_OFFLINE = OfflineDatastores()  # the default rules, shared: it holds no state


def _keys(prefix: str) -> tuple[str, str]:
    """The two entries libvirt reads for every device slot, even an absent one."""
    return f"{prefix}.present", f"{prefix}.startconnected"


# Every disk slot in the order libvirt visits them: (controller or bus, unit, its two keys).
_SCSI_SLOTS = tuple((c, u, _keys(f"scsi{c}:{u}")) for c in range(4) for u in range(64) if u != 7)
_SATA_SLOTS = tuple((c, u, _keys(f"sata{c}:{u}")) for c in range(4) for u in range(30))
_IDE_SLOTS = tuple((b, u, _keys(f"ide{b}:{u}")) for b in range(2) for u in range(2))
_FLOPPY_SLOTS = tuple((0, u, _keys(f"floppy{u}")) for u in range(2))
_SCSI_PRESENT = tuple(f"scsi{c}.present" for c in range(4))
_SATA_PRESENT = tuple(f"sata{c}.present" for c in range(4))
_SERIAL_SLOTS = tuple((p, _keys(f"serial{p}")) for p in range(4))
_PARALLEL_SLOTS = tuple((p, _keys(f"parallel{p}")) for p in range(3))
# applied to NUL + the NUL-joined keys, so that each key starts after a NUL
_ETHERNET_KEYS = re.compile(r"\x00ethernet([^.\x00]*)(\.?)")
_SHARED_FOLDERS = re.compile(r"\x00sharedfolder([0-9]+)\.")


def _vmx_directory(vmx_path: str | None, resolver: DatastoreResolver) -> str | None:
    if vmx_path is None:
        return None
    if vmx_path.startswith("["):
        return datastore_directory(vmx_path)
    if vmx_path.startswith("/"):
        resolved = resolver.to_datastore_path(vmx_path, vmx_dir=None, allow_missing=True)
        return datastore_directory(resolved if resolved is not None else vmx_path)
    raise ValidationError(
        f"vmx_path {vmx_path!r} must be a datastore path such as '[datastore] directory/name.vmx' "
        f"or an absolute path"
    )


def _round_up_power_of_two(value: int) -> int:
    """libvirt's VIR_ROUND_UP_POWER_OF_TWO on an unsigned int (0 when out of range)."""
    if value <= 0 or value > 1 << 31:
        return 0
    return 1 << (value - 1).bit_length()


def _c_div_up(value: int, divisor: int) -> int:
    """VIR_DIV_UP with C's truncating division."""
    total = value + divisor - 1
    quotient = abs(total) // divisor
    return quotient if total >= 0 else -quotient


class _Converter:
    """One conversion: reads the VMX entries and writes the XML text."""

    def __init__(self, vmx: VMXFile, resolver: DatastoreResolver, vmx_dir: str | None, include_secrets: bool):
        self.e = Entries(vmx)
        self.resolver = resolver
        self.vmx_dir = vmx_dir
        self.include_secrets = include_secrets
        self.keys = vmx.lower
        self.moref: str | None = None
        self.domain_id: int | None = None

    def mentioned(self, keys: tuple[str, str]) -> bool:
        """Whether a device slot has either of the entries libvirt reads for every slot:
        when it has neither, it is absent and reading it could not fail."""
        return keys[0] in self.keys or keys[1] in self.keys

    def resolve(self, file_name: str, allow_missing: bool, key: str) -> str | None:
        try:
            return self.resolver.to_datastore_path(
                file_name, vmx_dir=self.vmx_dir, allow_missing=allow_missing
            )
        except ConversionError as exc:
            raise type(exc)(f"{self.e.where(key)}: {exc}") from exc

    # -- domain-level entries -------------------------------------------------------------

    def head(self, datacenter_path: str | None) -> str:
        e = self.e
        config_version = e.integer("config.version", 0, required=True)
        if config_version != 8:
            raise e.error("config.version", f"must be 8, found {config_version}")
        hw_version = e.integer("virtualHW.version", 0, required=True)
        if hw_version < 4:
            raise e.error("virtualHW.version", f"must be 4 or higher, found {hw_version}")
        self.scsi_max_unit = 64 if hw_version >= 13 else 16

        uuid = e.uuid("uuid.bios") or "00000000-0000-0000-0000-000000000000"
        name = e.string("displayName")
        if name is not None:
            try:
                name = unescape_hex(unescape_hex(name, "%"), "|")
            except VMXSyntaxError as exc:
                raise e.error("displayName", f"contains an invalid escape sequence: {exc}") from None
        genid = self.genid()
        description = e.string("annotation")
        if description is not None:
            try:
                description = unescape_hex(description, "|")
            except VMXSyntaxError as exc:
                raise e.error("annotation", f"contains an invalid escape sequence: {exc}") from None

        memsize = e.integer("memsize", 32)
        if memsize <= 0 or memsize % 4 != 0:
            near = (
                f"; {memsize - memsize % 4} or {memsize - memsize % 4 + 4} would be valid"
                if memsize > 4
                else ""
            )
            raise RestrictionError(
                f"{e.where('memsize')}: must be a positive multiple of 4 (MiB), found {memsize}{near}"
            )
        if memsize * 1024 > _MAX_MEMORY_KIB:
            raise e.error(
                "memsize",
                f"{memsize} MiB does not fit libvirt's memory size (at most {_MAX_MEMORY_KIB // 1024} MiB)",
            )
        memory = memsize * 1024
        mem_max = e.integer("sched.mem.max", memsize)
        if mem_max < 0:
            mem_max = memsize
        current = min(mem_max * 1024, memory) or memory
        minsize = max(e.integer("sched.mem.minsize", 0), 0)
        min_guarantee = min(minsize * 1024, memory)

        vcpus = e.integer("numvcpus", 1)
        if vcpus <= 0:
            raise e.error("numvcpus", f"must be an integer greater than 0, found {vcpus}")
        cores = e.integer("cpuid.coresPerSocket", 1)
        topology = None
        if cores > 1:
            sockets = vcpus // cores
            if sockets <= 0:
                raise e.error("cpuid.coresPerSocket", f"({cores}) is larger than 'numvcpus' ({vcpus})")
            topology = f"    <topology sockets='{sockets}' dies='1' cores='{cores}' threads='1'/>\n"
        cpuset = self.affinity(vcpus)
        shares = self.shares(vcpus)

        guest_os = e.string("guestOS")
        arch = "x86_64" if guest_os is not None and guest_os.endswith("-64") else "i686"
        smbios_host = e.boolean("smbios.reflecthost", False)
        firmware = e.string("firmware")
        if firmware is not None and firmware not in ("efi", "bios"):
            raise e.error("firmware", f"must be 'efi' or 'bios', found {firmware!r}")

        ns = f" xmlns:vmware='{VMWARE_NS}'" if datacenter_path is not None or self.moref is not None else ""
        running = f" id='{self.domain_id}'" if self.domain_id is not None else ""
        out = [f"<domain type='vmware'{running}{ns}>\n"]
        if name is not None:
            out.append(f"  <name>{xml_escape(name)}</name>\n")
        out.append(f"  <uuid>{uuid}</uuid>\n")
        if genid is not None:
            out.append(f"  <genid>{genid}</genid>\n")
        if description is not None:
            out.append(f"  <description>{xml_escape(description)}</description>\n")
        out.append(
            f"  <memory unit='KiB'>{memory}</memory>\n  <currentMemory unit='KiB'>{current}</currentMemory>\n"
        )
        if min_guarantee:
            out.append(
                f"  <memtune>\n    <min_guarantee unit='KiB'>{min_guarantee}</min_guarantee>\n  </memtune>\n"
            )
        cpuset_attr = f" cpuset='{cpuset}'" if cpuset else ""
        out.append(f"  <vcpu placement='static'{cpuset_attr}>{vcpus}</vcpu>\n")
        if shares is not None:
            out.append(f"  <cputune>\n    <shares>{shares}</shares>\n  </cputune>\n")
        firmware_attr = " firmware='efi'" if firmware == "efi" else ""
        out.append(f"  <os{firmware_attr}>\n    <type arch='{arch}'>hvm</type>\n")
        if smbios_host:
            out.append("    <smbios mode='host'/>\n")
        out.append("  </os>\n")
        if topology is not None:
            out.append(f"  <cpu>\n{topology}  </cpu>\n")
        out.append(
            "  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n"
            "  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
        )
        return "".join(out)

    def genid(self) -> str | None:
        e = self.e
        high = e.integer("vm.genid", 0)
        low = e.integer("vm.genidX", 0)
        if high == 0 and low == 0:
            return None
        # two signed 64-bit halves, printed as their two's complement
        return format_uuid(f"{high & 0xFFFFFFFFFFFFFFFF:016x}{low & 0xFFFFFFFFFFFFFFFF:016x}")

    def affinity(self, vcpus: int) -> str | None:
        e = self.e
        value = e.string("sched.cpu.affinity")
        if value is None or value.lower() == "all":
            return None
        items = value.split(",")
        if len(items) < vcpus:
            raise e.error(
                "sched.cpu.affinity",
                f"must list at least as many CPUs as 'numvcpus' ({vcpus}), found {len(items)}: {value!r}",
            )
        bits = set()
        for item in items:
            text = item.strip(" \t\n\v\f\r")
            if not text.isdigit() or not text.isascii():
                raise e.error(
                    "sched.cpu.affinity", f"must be a comma-separated list of CPU numbers, found {value!r}"
                )
            number = int(text)
            if number >= CPUMASK_LEN:
                raise e.error(
                    "sched.cpu.affinity", f"contains {number}, more than the {CPUMASK_LEN - 1} allowed"
                )
            bits.add(number)
        return None if len(bits) == CPUMASK_LEN else format_bitmap(bits)

    def shares(self, vcpus: int) -> int | None:
        e = self.e
        value = e.string("sched.cpu.shares")
        if value is None:
            return None
        level = value.lower()
        # the share levels of vSphere's SharesInfo, per vCPU
        if level == "low":
            return vcpus * 500
        if level == "normal":
            return vcpus * 1000
        if level == "high":
            return vcpus * 2000
        text = value.lstrip(" \t\n\v\f\r")
        if not text.isdigit() or not text.isascii() or int(text) >= 1 << 64:
            raise e.error(
                "sched.cpu.shares",
                f"must be an unsigned integer or 'low', 'normal' or 'high', found {value!r}",
            )
        return int(text)

    # -- devices ----------------------------------------------------------------------------

    def disks(self) -> tuple[list[VMXDisk], list[tuple[str, int, str | None]]]:
        """Disks in libvirt's order and the controllers the VMX parser itself adds."""
        e = self.e
        keys = self.keys
        disks: list[VMXDisk] = []
        controllers: list[tuple[str, int, str | None]] = []
        resolve = self.resolve
        max_unit = self.scsi_max_unit

        def slot(bus: str, controller: int, unit: int) -> None:
            disk = read_disk(e, bus, controller, unit, max_unit, resolve)
            if disk is not None:
                disks.append(disk)

        scsi_models: list[str | None] = [None] * 4
        for controller in range(4):
            if _SCSI_PRESENT[controller] not in keys or not e.boolean(f"scsi{controller}.present", False):
                continue
            virtual_dev = e.string(f"scsi{controller}.virtualDev")
            if virtual_dev is not None:
                model = VMX_SCSI_MODELS.get(virtual_dev.lower())
                if model is None:
                    raise e.error(
                        f"scsi{controller}.virtualDev",
                        f"must be 'buslogic', 'lsilogic', 'lsisas1068' or 'pvscsi', found {virtual_dev!r}",
                    )
                scsi_models[controller] = model
            for c, unit, slot_keys in _SCSI_SLOTS[controller * 63 : controller * 63 + 63]:
                if unit < max_unit and (slot_keys[0] in keys or slot_keys[1] in keys):
                    slot("scsi", c, unit)
        if disks:
            for controller in range(disks[-1].controller + 1):
                controllers.append(("scsi", controller, scsi_models[controller] if controller < 4 else None))
        scsi_count = len(disks)

        for controller in range(4):
            if _SATA_PRESENT[controller] not in keys or not e.boolean(f"sata{controller}.present", False):
                continue
            for c, unit, slot_keys in _SATA_SLOTS[controller * 30 : controller * 30 + 30]:
                if slot_keys[0] in keys or slot_keys[1] in keys:
                    slot("sata", c, unit)
        if len(disks) > scsi_count:
            for controller in range(disks[-1].controller + 1):
                controllers.append(("sata", controller, None))

        for bus, unit, slot_keys in _IDE_SLOTS:
            if slot_keys[0] in keys or slot_keys[1] in keys:
                slot("ide", bus, unit)
        for _, unit, slot_keys in _FLOPPY_SLOTS:
            if slot_keys[0] in keys or slot_keys[1] in keys:
                slot("fdc", 0, unit)
        return disks, controllers

    def controllers(self, disks: list[VMXDisk], explicit: list[tuple[str, int, str | None]]) -> str:
        """The explicit controllers, then the implicit ones libvirt adds for the disks."""
        have = {(kind, index) for kind, index, _ in explicit}
        result = list(explicit)
        highest = {"scsi": -1, "fdc": -1, "ide": -1, "sata": -1}
        for disk in disks:
            if disk.controller > highest[disk.bus]:
                highest[disk.bus] = disk.controller
        for kind, top in highest.items():  # libvirt's order: scsi, fdc, ide, sata
            for index in range(top + 1):
                if (kind, index) not in have:
                    have.add((kind, index))
                    result.append((kind, index, None))
        return "".join(
            f"    <controller type='{kind}' index='{index}'" + (f" model='{model}'/>\n" if model else "/>\n")
            for kind, index, model in result
        )

    def filesystems(self) -> str:
        e = self.e
        if e.boolean("isolation.tools.hgfs.disable", True):
            return ""
        count = e.integer("sharedFolder.maxNum", 0)
        if count <= 0:
            return ""
        numbers = sorted({int(n) for n in _SHARED_FOLDERS.findall("\x00" + e.vmx.keys_joined) if n.isascii()})
        return "".join(fs for n in numbers if n < count and (fs := read_filesystem(e, n)) is not None)

    def interfaces(self) -> str:
        joined = self.e.vmx.keys_joined
        if "ethernet" not in joined:
            return ""
        numbers = set()
        for index, dot in _ETHERNET_KEYS.findall("\x00" + joined):
            if not dot or not index.isdigit() or not index.isascii() or int(index) > 0x7FFFFFFF:
                raise ConversionError(
                    f"cannot read the network adapter number of the VMX key 'ethernet{index}{dot}...' "
                    f"(expected ethernet<N>.<setting>)"
                )
            numbers.add(int(index))
        return "".join(nic for n in sorted(numbers) if (nic := read_ethernet(self.e, n)) is not None)

    def ports(self) -> str:
        e, resolve, mentioned = self.e, self.resolve, self.mentioned
        serials = [
            s for p, k in _SERIAL_SLOTS if mentioned(k) and (s := read_serial(e, p, resolve)) is not None
        ]
        parallels = [
            s for p, k in _PARALLEL_SLOTS if mentioned(k) and (s := read_parallel(e, p, resolve)) is not None
        ]
        out = [format_chardev("serial", s, f"<target port='{s.port}'/>") for s in serials]
        out += [format_chardev("parallel", p, f"<target port='{p.port}'/>") for p in parallels]
        if serials:
            # libvirt shows the first serial port again as the console
            out.append(
                format_chardev("console", serials[0], f"<target type='serial' port='{serials[0].port}'/>")
            )
        return "".join(out)

    def video(self) -> str:
        size = self.e.integer("svga.vramSize", 4 * 1024 * 1024)
        if size > _MAX_VRAM_BYTES:
            raise self.e.error(
                "svga.vramSize",
                f"{size} bytes do not fit libvirt's video memory (at most {_MAX_VRAM_BYTES} bytes, 2 TiB)",
            )
        vram = _c_div_up(size, 1024) % _UINT32  # bytes -> KiB, in an unsigned int
        vram = _round_up_power_of_two(vram or 4096)
        attr = f" vram='{vram}'" if vram else ""
        return f"    <video>\n      <model type='vmvga'{attr} primary='yes'/>\n    </video>\n"

    def convert(self, datacenter_path: str | None) -> str:
        head = self.head(datacenter_path)
        graphics = read_vnc(self.e, self.include_secrets) or ""
        disks, explicit = self.disks()
        devices = [head, "  <devices>\n"]
        devices.extend(format_disk_xml(d) for d in disks)
        devices.append(self.controllers(disks, explicit))
        devices.append(self.filesystems())
        devices.append(self.interfaces())
        devices.append(self.ports())
        devices.append(graphics)
        devices.append(self.video())
        devices.append("  </devices>\n")
        if datacenter_path is not None:
            devices.append(
                f"  <vmware:datacenterpath>{xml_escape(datacenter_path)}</vmware:datacenterpath>\n"
            )
        if self.moref is not None:
            devices.append(f"  <vmware:moref>{xml_escape(self.moref)}</vmware:moref>\n")
        devices.append("</domain>\n")
        return "".join(devices)


#: libvirt's largest memory size: its byte count must fit a signed 64-bit integer.
_MAX_MEMORY_KIB = (2**63 - 1) // 1024
#: The largest video memory whose KiB, rounded up to a power of two, fits libvirt's unsigned int.
_MAX_VRAM_BYTES = 2**41


def domxml_from_native(
    vmx_text: str | bytes,
    *,
    vmx_path: str | None = None,
    datacenter_path: str | None = None,
    datastores: Mapping[str, str] | None = None,
    resolver: DatastoreResolver | None = None,
    include_secrets: bool = False,
    moref: str | None = None,
    domain_id: int | None = None,
) -> str:
    """Convert a VMX file to libvirt domain XML (``virsh domxml-from-native vmware-vmx``).

    ``vmx_path`` is the VMX file's own datastore path (``"[datastore] dir/name.vmx"``) or
    absolute path; bare file names in the VMX live in its directory. When it is None they
    become ``"[?] ?/name"``, as virsh prints them. File names are resolved by ``resolver``
    (default: :class:`OfflineDatastores` with the ``datastores`` name mapping).
    ``datacenter_path`` adds ``<vmware:datacenterpath>``. The VNC password is left out
    unless ``include_secrets`` (virsh leaves it out too). For a registered domain (``virsh
    dumpxml``), ``moref`` adds ``<vmware:moref>`` and ``domain_id`` the ``id`` of a domain that
    is not shut off, as libvirt's ESX driver writes them.

    Raises :class:`~esxnb.errors.ConversionError` (or its subclasses :class:`VMXSyntaxError`
    and :class:`RestrictionError`) naming the entry and line that cannot be converted.
    """
    for name, value in (("vmx_path", vmx_path), ("datacenter_path", datacenter_path)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be a string or None, not {type(value).__name__}")
    if resolver is not None and datastores is not None:
        raise ValidationError("pass either resolver or datastores, not both")
    if resolver is None:
        if datastores is not None and not isinstance(datastores, Mapping):
            raise ValidationError(
                f"datastores must map volume names to datastore names, not {type(datastores).__name__}"
            )
        resolver = _OFFLINE if datastores is None else OfflineDatastores(datastores)
    try:
        vmx = parse_vmx(vmx_text)
        converter = _Converter(vmx, resolver, _vmx_directory(vmx_path, resolver), include_secrets)
        converter.moref, converter.domain_id = moref, domain_id
        return converter.convert(datacenter_path)
    except EsxnbError:
        raise
    except (KeyError, ValueError, IndexError, TypeError, UnicodeError, OverflowError, RecursionError) as exc:
        raise ConversionError(f"cannot convert the VMX: {type(exc).__name__}: {exc}") from exc
