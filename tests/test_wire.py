"""The simulator answers as a real server does: every property of every managed object reads
without an error (through pyvmomi one by one and through esxnb's bulk decoder all at once),
array items carry xsi:type, an unset property is no value rather than a dropped connection."""

from __future__ import annotations

import re

import requests
from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import IsChildVersion

from esxnb._fastpc import FastCollector
from esxnb.simulator import Simulator
from helpers import connect_to

PC = vmodl.query.PropertyCollector


def _managed_objects(content) -> list:
    """Every inventory object, the root folder and the ServiceContent's managers."""
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ManagedEntity], True)
    try:
        found = [content.rootFolder, *view.view]
    finally:
        view.DestroyView()
    for name in dir(content):
        value = getattr(content, name, None)
        if hasattr(value, "_moId") and hasattr(value, "_GetPropertyList"):
            found.append(value)
    unique = {(type(obj).__name__, obj._moId): obj for obj in found}
    return list(unique.values())


def test_every_property_reads_through_pyvmomi(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        version = conn.session.si._stub.version
        objects = _managed_objects(conn.content)
        failures = []
        reads = 0
        for obj in objects:
            for prop in obj._GetPropertyList():
                if not IsChildVersion(version, prop.version):
                    continue  # newer than the server's API: a real server does not have it either
                reads += 1
                try:
                    getattr(obj, prop.name)
                except Exception as exc:  # collected, so one run names every failing property
                    failures.append(f"{type(obj).__name__}.{prop.name}: {type(exc).__name__}")
    assert len(objects) > 20 and reads > 300
    assert failures == []


def test_every_property_decodes_in_one_bulk_retrieval(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        objects = _managed_objects(conn.content)
        kinds = {type(obj) for obj in objects}
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=obj, skip=False) for obj in objects],
            propSet=[PC.PropertySpec(type=kind, all=True) for kind in kinds],
        )
        retrieval = FastCollector(conn.session).retrieve([spec])
        decoded = {(ref.type, ref.value): row for ref, row in retrieval.properties().items()}
        assert len(decoded) == len(objects)
        host = conn.host or next(obj for obj in objects if isinstance(obj, vim.HostSystem))
        row = decoded[("HostSystem", host._moId)]
        assert row["name"] == host.name
        assert sorted(ref.value for ref in row["vm"]) == sorted(vm._moId for vm in host.vm)
        assert int(row["summary"]["hardware"]["numCpuCores"]) == host.summary.hardware.numCpuCores


def test_the_root_folders_parent_is_no_value_and_the_connection_stays(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        root = conn.content.rootFolder
        assert root.parent is None
        assert root.name  # the same session goes on


def _raw_answer(sim: Simulator, body: str) -> str:
    """One SOAP exchange over plain HTTP with a logged-in session cookie."""
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{}</soapenv:Body></soapenv:Envelope>'
    )
    with connect_to(sim) as conn:
        cookie = conn.session.si._stub.cookie.split(";")[0].split("=", 1)[1]
        collector = conn.content.propertyCollector._moId
        host = (conn.host or conn.content.rootFolder)._moId
        text = body.format(collector=collector, host=host)
        answer = requests.post(
            sim.url,
            data=envelope.format(text),
            headers={"SOAPAction": "urn:vim25/6.5", "Content-Type": "text/xml"},
            cookies={"vmware_soap_session": cookie},
            verify=sim.ca_file,
            timeout=30,
        )
    answer.raise_for_status()
    return answer.text


def test_array_items_carry_xsi_type_and_xsi_is_declared_once(esx_sim: Simulator) -> None:
    text = _raw_answer(
        esx_sim,
        '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">{collector}</_this>'
        "<specSet><propSet><type>HostSystem</type><pathSet>vm</pathSet><pathSet>name</pathSet>"
        "<pathSet>config.network.pnic</pathSet></propSet>"
        '<objectSet><obj type="HostSystem">{host}</obj></objectSet></specSet><options/>'
        "</RetrievePropertiesEx>",
    )
    items = re.findall(r"<ManagedObjectReference [^>]*>", text)
    assert items and all('xsi:type="ManagedObjectReference"' in item for item in items)
    nics = re.findall(r"<PhysicalNic[ >][^>]*>|<PhysicalNic>", text)
    assert nics and all('xsi:type="PhysicalNic"' in nic for nic in nics)
    assert 'xsi:type="xsd:string"' in text
    assert "XMLSchema-instance:type" not in text  # one xsi declaration, in the envelope
