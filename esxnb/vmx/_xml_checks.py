"""What libvirt's generic domain parser refuses before its ESX code sees a domain, checked the
same way here for the parts esxnb would otherwise pass over (they never reach the VMX, but
``virsh domxml-to-native`` refuses them, so esxnb does too, naming the element and value)."""

from __future__ import annotations

import re

from lxml import etree

from ..errors import ConversionError
from ._to_native_values import parse_bitmap

__all__ = ["check_domain"]

_CLOCK_OFFSETS = ("utc", "localtime", "timezone", "variable", "absolute")
_LIFECYCLE = {
    "on_poweroff": ("destroy", "restart", "preserve", "rename-restart"),
    "on_reboot": ("destroy", "restart", "preserve", "rename-restart"),
    "on_crash": ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"),
    "on_lockfailure": ("poweroff", "restart", "pause", "ignore"),
}
_SERIAL_TARGETS = (
    "isa-serial", "usb-serial", "pci-serial", "spapr-vio-serial", "system-serial", "sclp-serial", "isa-debug",
)  # fmt: skip
# libvirt 9.0's controller models per controller type; types absent here take no model at all
# (fdc, sata, ccid, xenbus, isa: libvirt refuses any model attribute on them).
_CONTROLLER_MODELS: dict[str, tuple[str, ...]] = {
    "scsi": ("auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi", "lsisas1078",
             "virtio-transitional", "virtio-non-transitional", "ncr53c90", "dc390", "am53c974"),
    "usb": ("piix3-uhci", "piix4-uhci", "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3",
            "vt82c686b-uhci", "pci-ohci", "nec-xhci", "qusb1", "qusb2", "qemu-xhci", "none"),
    "pci": ("pci-root", "pcie-root", "pci-bridge", "dmi-to-pci-bridge", "pcie-to-pci-bridge", "pcie-root-port",
            "pcie-switch-upstream-port", "pcie-switch-downstream-port", "pci-expander-bus", "pcie-expander-bus"),
    "ide": ("piix3", "piix4", "ich6"),
    "virtio-serial": ("virtio", "virtio-transitional", "virtio-non-transitional"),
}  # fmt: skip
_ADDRESS_NUMBERS = (
    "controller",
    "bus",
    "target",
    "unit",
    "port",
    "slot",
    "function",
    "domain",
    "multifunction",
)
_NUMBER = re.compile(r"(0x[0-9a-fA-F]+|[0-9]+)")
#: libvirt's smallest <cputune><shares> (VIR_CGROUP_CPU_SHARES_MIN)
_MIN_SHARES = 2


def _allowed(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise ConversionError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def check_domain(root: etree._Element) -> None:
    """Refuse what libvirt's domain parser refuses (see the module docstring)."""
    clock = root.find("clock")
    if clock is not None:
        _allowed(clock.get("offset"), _CLOCK_OFFSETS, "<clock offset=...>")
    for tag, allowed in _LIFECYCLE.items():
        element = root.find(tag)
        if element is not None:
            _allowed(element.text or "", allowed, f"<{tag}>")
    max_memory = root.find("maxMemory")
    if max_memory is not None:
        slots = max_memory.get("slots")
        if (
            not (slots and slots.isdigit() and int(slots) > 0)
            or not (max_memory.text or "").strip().isdigit()
        ):
            raise ConversionError(
                "<maxMemory> needs a size and a slots='N' attribute (both whole numbers), "
                f"found slots={slots!r} and {max_memory.text!r}"
            )
    shares = root.find("cputune/shares")
    if shares is not None and (shares.text or "").strip().isdigit() and int(shares.text) < _MIN_SHARES:
        raise ConversionError(
            f"<cputune><shares> {shares.text.strip()} is below libvirt's minimum of {_MIN_SHARES}"
        )
    for path, what in (
        ("numatune/memory", "nodeset"),
        ("cputune/vcpupin", "cpuset"),
        ("cputune/emulatorpin", "cpuset"),
    ):
        for element in root.findall(path):
            if element.get(what) is not None:
                parse_bitmap(element.get(what), f"<{path.split('/')[-1]} {what}=...>")
    controllers: set[tuple[str, str]] = set()
    for devices in root.findall("devices"):
        for element in devices:
            if not isinstance(element.tag, str):
                continue
            if element.tag == "controller" and element.get("model") is not None:
                kind = element.get("type") or "ide"  # libvirt's default controller type
                models = _CONTROLLER_MODELS.get(kind, ())
                if element.get("model") not in models:
                    allowed = f"one of {', '.join(models)}" if models else "none (this type takes no model)"
                    raise ConversionError(
                        f"<controller type='{kind}' model={element.get('model')!r}>: the model must be {allowed}"
                    )
            if element.tag == "controller" and element.get("index") is not None:
                key = (element.get("type") or "", element.get("index") or "")
                if key in controllers:
                    raise ConversionError(
                        f"two {key[0].upper() or 'untyped'} controllers have index {key[1]}"
                    )
                controllers.add(key)
            if element.tag == "serial":
                target = element.find("target")
                if target is not None:
                    _allowed(target.get("type"), _SERIAL_TARGETS, "<serial><target type=...>")
            for address in element.findall("address"):
                for name in _ADDRESS_NUMBERS:
                    value = address.get(name)
                    if value is not None and name != "multifunction" and not _NUMBER.fullmatch(value):
                        raise ConversionError(
                            f"<{element.tag}> <address {name}='{value}'>: {name} must be a whole number"
                        )
