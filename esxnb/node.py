"""The host a connection is bound to, as libvirt's ``virNodeInfo`` describes it
(``virsh nodeinfo``): ``Connection.node_info()``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from ._collect import retrieve
from ._protocol import ConnectionLike, Facet

__all__ = ["NodeInfo", "NodeFacet", "node_info", "cpu_model_name"]

_PATHS = (
    "hardware.cpuInfo.hz",
    "hardware.cpuInfo.numCpuCores",
    "hardware.cpuInfo.numCpuPackages",
    "hardware.cpuInfo.numCpuThreads",
    "hardware.memorySize",
    "hardware.numaInfo.numNodes",
    "summary.hardware.cpuModel",
)


@dataclass(frozen=True)
class NodeInfo:
    """``cpu_model`` (at most 31 characters, as libvirt cuts it), ``cpus`` (cores), ``mhz``,
    ``sockets``, ``cores_per_socket``, ``threads_per_core``, ``numa_nodes``, ``memory_kib``."""

    cpu_model: str
    cpus: int
    mhz: int
    sockets: int
    cores_per_socket: int
    threads_per_core: int
    numa_nodes: int
    memory_kib: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_model_name(model: str) -> str:
    """The CPU model as esxNodeGetInfo shortens it: runs of spaces squeezed, (R) (C) (TM)
    dropped, cut to 31 characters."""
    text = re.sub(r"\(R\)|\(C\)|\(TM\)", "", model)
    text = re.sub(r"  +", " ", text)
    return text[:31]


def node_info(conn: ConnectionLike) -> NodeInfo:
    host = conn.require_host("reading the node information")
    props = retrieve(conn.content, [host], _PATHS).get(host, {})

    def number(path: str) -> int:
        return int(props.get(path) or 0)

    cores, packages, threads = (
        number("hardware.cpuInfo.numCpuCores"),
        number("hardware.cpuInfo.numCpuPackages"),
        number("hardware.cpuInfo.numCpuThreads"),
    )
    return NodeInfo(
        cpu_model=cpu_model_name(str(props.get("summary.hardware.cpuModel") or "")),
        cpus=cores,
        mhz=number("hardware.cpuInfo.hz") // 1_000_000,
        sockets=packages,
        cores_per_socket=cores // packages if packages else 0,
        threads_per_core=threads // cores if cores else 0,
        numa_nodes=number("hardware.numaInfo.numNodes"),
        memory_kib=number("hardware.memorySize") // 1024,
    )


class NodeFacet(Facet):
    __slots__ = ()

    def node_info(self) -> NodeInfo:
        """The bound host's CPU and memory as ``virsh nodeinfo`` shows them (a vpx:// connection
        must name a host: ValidationError saying how otherwise)."""
        return node_info(self._conn)
