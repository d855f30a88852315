"""Standard vSwitches of the bound host as libvirt networks, as libvirt's ESX network driver
shows and defines them.

A network's UUID is the MD5 of the vSwitch's key; its uplinks are ``<forward mode='bridge'>``
interfaces; its port groups (those with a vSphere Network object: VM port groups) are
``<portgroup>`` elements; traffic shaping is ``<bandwidth>`` (kilobytes per second and
kilobytes, as libvirt scales them). Beyond libvirt, esxnb writes and reads a port group's VLAN
as ``<vlan><tag id='N'/></vlan>`` and a vSwitch MTU other than 1500 as ``<mtu size='N'/>``.

``define_network(xml)`` creates the vSwitch with 128 ports, its uplinks and shaping, then its
port groups, and removes what it created when a later step fails; ``undefine()`` refuses while
a VM or a VMkernel NIC uses one of its port groups.
"""

from ._define import define_network
from ._facet import NetworkFacet
from ._host import Network, find_network, list_networks
from ._model import DEFAULT_MTU, NETWORKS, NUM_PORTS, PORT_GROUPS, Bandwidth, NetworkInfo, PortGroupInfo
from ._xml import NetworkDef, format_network_xml, parse_network_xml

__all__ = [
    "Network",
    "NetworkInfo",
    "PortGroupInfo",
    "Bandwidth",
    "NetworkDef",
    "NetworkFacet",
    "list_networks",
    "find_network",
    "define_network",
    "parse_network_xml",
    "format_network_xml",
    "NETWORKS",
    "PORT_GROUPS",
    "NUM_PORTS",
    "DEFAULT_MTU",
]
