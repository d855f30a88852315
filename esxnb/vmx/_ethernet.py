"""Network interfaces: VMX ``ethernetN`` entries -> ``<interface>`` (``read_ethernet``) and
``<interface>`` -> VMX entries (``format_interface``), side by side as in libvirt's vmx.c."""

from __future__ import annotations

import os

from lxml import etree

from ..errors import ConversionError
from ._from_native_values import Entries, read_vmx_mac, read_vmx_uuid, xml_escape
from ._to_native_values import (
    first_children,
    format_uuid_vmx,
    parse_enum,
    parse_long,
    parse_mac,
    parse_uuid,
    parse_yes_no,
)

_NET_MODELS = {
    "vlance": "vlance",
    "vmxnet": "vmxnet",
    "vmxnet3": "vmxnet3",
    "e1000": "e1000",
    "e1000e": "e1000e",
}


# libvirt blanks tap names it generated itself when reading an inactive config
_GENERATED_IFNAMES = ("vnet", "macvtap", "macvlan")


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


MAC_PREFIX = b"\x00\x0c\x29"  # VMware's prefix for generated addresses


# -- VMX -> domain XML ----------------------------------------------------------------------


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
            parsed = read_vmx_mac(generated)
            if parsed is None:
                raise e.error(prefix + ".generatedAddress", f"must be a MAC address, found {generated!r}")
            mac = parsed
        if atype is not None:
            mac_type = " type='generated'"
    elif atype == "static":
        if address is not None:
            parsed = read_vmx_mac(address)
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
        switch_uuid = read_vmx_uuid(switch_id)
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


# -- domain XML -> VMX ----------------------------------------------------------------------


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
