"""Every estate table by name, and how RVTools names each sheet and column.

``TABLES`` is what :meth:`Connection.estate` reads (all of it by default). ``RVTOOLS`` maps a
table to its RVTools sheet and, in RVTools' order, each esxnb column to RVTools' header; the
Excel export writes those first and esxnb's other columns after them under their own names.
"""

from __future__ import annotations

from ..domain._table import DOMAINS
from ..host._table import HOSTS
from ..scheduler._table import SCHEDULER
from ..snapshot._table import SNAPSHOTS
from .._tables import TableSpec
from ._devices import CDROMS, DISKS, DV_PORTGROUPS, NICS, PARTITIONS, USB
from ._infra import CLUSTERS, DATASTORES, RESOURCE_POOLS
from ._vms import TOOLS, VM_CPU, VM_MEMORY, VMS

__all__ = ["TABLES", "RVTOOLS", "DEFAULT_TABLES"]

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        VMS,
        VM_CPU,
        VM_MEMORY,
        DISKS,
        PARTITIONS,
        NICS,
        CDROMS,
        USB,
        SNAPSHOTS,
        TOOLS,
        HOSTS,
        CLUSTERS,
        RESOURCE_POOLS,
        DATASTORES,
        DV_PORTGROUPS,
        DOMAINS,
        SCHEDULER,
    )
}

#: What ``estate()`` reads when not told: every table but the libvirt-style views of the same
#: VMs (``domains``, ``scheduler``), which can be asked for by name.
DEFAULT_TABLES = tuple(name for name in TABLES if name not in ("domains", "scheduler"))

RVTOOLS: dict[str, tuple[str, dict[str, str]]] = {
    "vms": (
        "vInfo",
        {
            "name": "VM",
            "power_state": "Powerstate",
            "template": "Template",
            "config_status": "Config status",
            "dns_name": "DNS Name",
            "connection_state": "Connection state",
            "guest_state": "Guest state",
            "heartbeat": "Heartbeat",
            "consolidation_needed": "Consolidation Needed",
            "powered_on_at": "PowerOn",
            "created_at": "Creation date",
            "vcpus": "CPUs",
            "memory_mib": "Memory",
            "nics": "NICs",
            "disks": "Disks",
            "primary_ip": "Primary IP Address",
            "provisioned_mib": "Provisioned MiB",
            "in_use_mib": "In Use MiB",
            "unshared_mib": "Unshared MiB",
            "annotation": "Annotation",
            "datacenter": "Datacenter",
            "cluster": "Cluster",
            "host": "Host",
            "folder": "Folder",
            "os_config": "OS according to the configuration file",
            "os_tools": "OS according to the VMware Tools",
            "moref": "VM ID",
            "uuid": "SMBIOS UUID",
            "instance_uuid": "VM UUID",
            "vmx_path": "Path",
            "firmware": "Firmware",
            "hw_version": "HW version",
            "resource_pool": "Resource pool",
        },
    ),
    "vm_cpu": (
        "vCPU",
        {
            "vm": "VM",
            "power_state": "Powerstate",
            "vcpus": "CPUs",
            "sockets": "Sockets",
            "cores_per_socket": "Cores p/s",
            "max_mhz": "Max",
            "usage_mhz": "Overall",
            "shares_level": "Level",
            "shares": "Shares",
            "reservation_mhz": "Reservation",
            "limit_mhz": "Limit",
            "hot_add": "Hot Add",
            "hot_remove": "Hot Remove",
            "vm_uuid": "VM UUID",
        },
    ),
    "vm_memory": (
        "vMemory",
        {
            "vm": "VM",
            "power_state": "Powerstate",
            "memory_mib": "Size MiB",
            "overhead_mib": "Consumed Overhead",
            "host_usage_mib": "Consumed",
            "swapped_mib": "Swapped",
            "ballooned_mib": "Ballooned",
            "guest_usage_mib": "Active",
            "shares_level": "Level",
            "shares": "Shares",
            "reservation_mib": "Reservation",
            "limit_mib": "Limit",
            "hot_add": "Hot Add",
            "vm_uuid": "VM UUID",
        },
    ),
    "disks": (
        "vDisk",
        {
            "vm": "VM",
            "label": "Disk",
            "key": "Disk Key",
            "disk_uuid": "Disk UUID",
            "file": "Disk Path",
            "capacity_mib": "Capacity MiB",
            "mode": "Disk Mode",
            "sharing": "Sharing mode",
            "thin": "Thin",
            "eager_zeroed": "Eagerly Scrub",
            "io_shares_level": "Level",
            "io_limit_iops": "Limit",
            "controller": "Controller",
            "unit": "Unit #",
            "vm_uuid": "VM UUID",
        },
    ),
    "partitions": (
        "vPartition",
        {
            "vm": "VM",
            "path": "Disk",
            "capacity_mib": "Capacity MiB",
            "free_mib": "Free MiB",
            "free_pct": "Free %",
            "vm_uuid": "VM UUID",
        },
    ),
    "nics": (
        "vNetwork",
        {
            "vm": "VM",
            "label": "NIC label",
            "model": "Adapter",
            "network": "Network",
            "switch_uuid": "Switch",
            "connected": "Connected",
            "start_connected": "Starts Connected",
            "mac": "Mac Address",
            "address_type": "Type",
            "ips": "IPv4 Address",
            "vm_uuid": "VM UUID",
        },
    ),
    "cdroms": (
        "vCD",
        {
            "vm": "VM",
            "label": "Device Node",
            "connected": "Connected",
            "start_connected": "Starts Connected",
            "backing": "Device Type",
            "file": "Summary",
            "vm_uuid": "VM UUID",
        },
    ),
    "usb": (
        "vUSB",
        {
            "vm": "VM",
            "label": "Device Node",
            "kind": "Device Type",
            "connected": "Connected",
            "vm_uuid": "VM UUID",
        },
    ),
    "snapshots": (
        "vSnapshot",
        {
            "domain": "VM",
            "name": "Name",
            "description": "Description",
            "created": "Date / time",
            "size_mib": "Size MiB (total)",
            "quiesced": "Quiesced",
            "state": "State",
            "domain_uuid": "VM UUID",
        },
    ),
    "tools": (
        "vTools",
        {
            "vm": "VM",
            "power_state": "Powerstate",
            "tools_status": "Tools",
            "version": "Tools Version",
            "version_status": "Upgradeable",
            "upgrade_policy": "Upgrade Policy",
            "sync_time": "Sync time",
            "vm_uuid": "VM UUID",
        },
    ),
    "resource_pools": (
        "vRP",
        {
            "name": "Resource Pool name",
            "path": "Resource Pool path",
            "vms": "# VMs",
            "cpu_limit_mhz": "CPU limit",
            "cpu_reservation_mhz": "CPU reservation",
            "cpu_shares_level": "CPU level",
            "cpu_shares": "CPU shares",
            "cpu_expandable": "CPU expandableReservation",
            "memory_limit_mib": "Mem limit",
            "memory_reservation_mib": "Mem reservation",
            "memory_shares_level": "Mem level",
            "memory_shares": "Mem shares",
            "memory_expandable": "Mem expandableReservation",
        },
    ),
    "clusters": (
        "vCluster",
        {
            "name": "Name",
            "overall_status": "OverallStatus",
            "hosts": "NumHosts",
            "effective_hosts": "numEffectiveHosts",
            "total_cpu_mhz": "TotalCpu",
            "cpu_cores": "NumCpuCores",
            "cpu_threads": "NumCpuThreads",
            "effective_cpu_mhz": "Effective Cpu",
            "total_memory_mib": "TotalMemory",
            "effective_memory_mib": "Effective Memory",
            "ha_enabled": "HA enabled",
            "ha_failover_level": "Failover Level",
            "ha_admission_control": "AdmissionControlEnabled",
            "ha_host_monitoring": "Host monitoring",
            "drs_enabled": "DRS enabled",
            "drs_behavior": "DRS default VM behavior",
            "dpm_enabled": "DPM enabled",
        },
    ),
    "hosts": (
        "vHost",
        {
            "name": "Host",
            "datacenter": "Datacenter",
            "cluster": "Cluster",
            "overall_status": "Config status",
            "maintenance_mode": "in Maintenance Mode",
            "cpu_model": "CPU Model",
            "cpu_mhz": "Speed",
            "cpu_sockets": "# CPU",
            "cpu_cores": "# Cores",
            "cpu_usage_pct": "CPU usage %",
            "memory_mib": "# Memory",
            "memory_usage_pct": "Memory usage %",
            "vms": "# VMs",
            "product": "ESX Version",
            "vendor": "Vendor",
            "model": "Model",
            "serial_number": "Serial number",
            "bios_version": "BIOS Version",
            "boot_time": "Boot time",
        },
    ),
    "datastores": (
        "vDatastore",
        {
            "name": "Name",
            "accessible": "Accessible",
            "type": "Type",
            "vms": "# VMs",
            "capacity_mib": "Capacity MiB",
            "provisioned_mib": "Provisioned MiB",
            "free_mib": "Free MiB",
            "free_pct": "Free %",
            "hosts": "# Hosts",
            "url": "URL",
        },
    ),
    "dv_portgroups": ("dvPort", {"name": "Port", "vlan": "VLAN", "ports": "# Ports", "binding": "Type"}),
}
