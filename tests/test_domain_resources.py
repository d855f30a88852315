"""Memory, vCPUs, autostart, screenshots and node info on the simulator, read back through raw
pyVmomi; every refusal names its rule before anything is sent."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from esxnb import errors
from esxnb.node import cpu_model_name
from esxnb.simulator import Simulator
from helpers import connect_to, put_in

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=2, clusters=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


def _domain(conn, index: int = 0):
    return conn.domain(sorted(conn.domains()["name"])[index])


def test_memory_and_vcpus_read_back(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = put_in(_domain(conn), "shut off")
        domain.set_max_memory(256)
        domain.set_memory(128)
        domain.set_vcpus(4)
        config = domain.vm.config
        assert (config.hardware.memoryMB, config.memoryAllocation.limit, config.hardware.numCPU) == (
            256,
            128,
            4,
        )
        row = conn.domains().set_index("name").loc[domain.name]
        assert (row["max_memory_mib"], row["memory_mib"], row["vcpus"]) == (256, 128, 4)
        domain.set_vcpus(1)
        assert domain.vm.config.hardware.numCPU == 1


def test_restrictions_are_refused_before_any_call(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = put_in(_domain(conn), "shut off")
        before = (domain.vm.config.hardware.memoryMB, domain.vm.config.hardware.numCPU)
        with pytest.raises(errors.RestrictionError, match="multiple of 4 MiB"):
            domain.set_max_memory(130)
        with pytest.raises(errors.RestrictionError, match="1 vCPU or an even number"):
            domain.set_vcpus(3)
        with pytest.raises(errors.ValidationError, match="supports at most 128"):
            domain.set_vcpus(130)
        with pytest.raises(errors.ValidationError, match="between 1 MiB and its maximum memory"):
            domain.set_memory(before[0] + 4)
        with pytest.raises(errors.ValidationError, match="whole number"):
            domain.set_vcpus(2.0)  # type: ignore[arg-type]
        put_in(domain, "running")
        with pytest.raises(errors.InvalidStateError, match="vCPU hot-add is off"):
            domain.set_vcpus(before[1] + 1 if before[1] % 2 else before[1] + 2)
        with pytest.raises(errors.InvalidStateError, match="not shut off"):
            domain.set_max_memory(before[0] + 4)
        domain.set_memory(before[0])  # the limit may change while it runs
        assert (domain.vm.config.hardware.memoryMB, domain.vm.config.hardware.numCPU) == before


def test_autostart_set_and_read_back(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        first, second = _domain(conn, 0), _domain(conn, 1)
        host = first.vm.runtime.host
        manager = host.configManager.autoStartManager
        assert first.autostart is False and manager.config.defaults.enabled is False
        first.set_autostart(True)
        assert first.autostart is True and manager.config.defaults.enabled is True
        power = {p.key._moId: p.startAction for p in manager.config.powerInfo}
        assert power[first.vm._moId] == "powerOn"
        if second.vm.runtime.host == host:
            assert second.autostart is False
        first.set_autostart(False)
        assert first.autostart is False
        with pytest.raises(errors.ValidationError, match="True or False"):
            first.set_autostart("yes")  # type: ignore[arg-type]


def _png_pixels_differ(png: bytes) -> bool:
    """Whether the image is more than one colour (the console has text on it)."""
    chunks, offset = b"", 8
    while offset < len(png):
        (length,), kind = struct.unpack(">I", png[offset : offset + 4]), png[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(chunks)
    return len(set(raw[1:200])) > 1


def test_screenshot_is_a_png_of_the_console(sim: Simulator, tmp_path: Path) -> None:
    with connect_to(sim) as conn:
        domain = put_in(_domain(conn), "running")
        shot = domain.screenshot()
        assert (shot.width, shot.height) == (640, 400) and shot._repr_png_() == shot.png
        assert abs(shot.taken_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
        assert _png_pixels_differ(shot.png)
        saved = shot.save(tmp_path / "console.png")
        assert saved.read_bytes() == shot.png
        with pytest.raises(errors.ExistsError, match="not overwriting"):
            shot.save(saved)
        put_in(domain, "shut off")
        with pytest.raises(errors.InvalidStateError, match="it is shut off"):
            domain.screenshot()


def test_node_info_is_the_hosts_hardware(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        node = conn.node_info()
        host = conn.host
        cpu = host.hardware.cpuInfo
        assert node.cpus == cpu.numCpuCores and node.sockets == cpu.numCpuPackages
        assert node.mhz == cpu.hz // 1_000_000 and node.memory_kib == host.hardware.memorySize // 1024
        assert node.cores_per_socket * node.sockets == node.cpus
        assert node.cpu_model == cpu_model_name(host.summary.hardware.cpuModel)


def test_node_info_needs_a_host() -> None:
    with Simulator("vpx", clusters=1, hosts=1, standalone_hosts=0, vms=1) as vc:
        with connect_to(vc, f"vpx://{vc.host}:{vc.port}/DC0") as conn:
            with pytest.raises(errors.ValidationError, match="needs one host"):
                conn.node_info()


def test_cpu_model_is_shortened_as_libvirt_does() -> None:
    assert cpu_model_name("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz") == "Intel Xeon CPU E5-2680 v4 @ 2.4"
    assert cpu_model_name("AMD  EPYC(TM)   7302") == "AMD EPYC 7302"
