"""Health findings over an estate: the checks estate audits run, each a small rule.

A rule reads the estate's tables and yields findings; thresholds are keyword arguments of
:func:`health` with the defaults in :data:`THRESHOLDS`. A rule whose tables the estate lacks
is listed in ``df.attrs["skipped"]`` instead of passing silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["health", "reaching", "fail_on", "THRESHOLDS", "RULES", "SEVERITIES", "Rule"]

SEVERITIES = ("info", "warning", "critical")
THRESHOLDS: dict[str, float] = {
    "snapshot_age_days": 30,
    "snapshot_size_gib": 10,
    "datastore_free_pct": 15,
    "partition_free_pct": 10,
    "vcpus_per_core": 4.0,
    "memory_overcommit": 1.0,
    "min_hw_version": 13,
}

Finding = dict[str, Any]
Tables = Mapping[str, "pd.DataFrame"]


@dataclass(frozen=True)
class Rule:
    name: str
    tables: tuple[str, ...]
    check: Callable[[Tables, Mapping[str, float]], Iterator[Finding]]
    doc: str


def _finding(
    entity: Any,
    kind: str,
    severity: str,
    message: str,
    value: Any = None,
    threshold: Any = None,
    moref: Any = None,
) -> Finding:
    value, threshold = _given(value), _given(threshold)
    return {
        "entity": entity,
        "entity_type": kind,
        "severity": severity,
        "message": message,
        "value": None if value is None else str(value),
        "threshold": None if threshold is None else str(threshold),
        "moref": moref,
    }


def _given(value: Any) -> Any:
    """None for pandas' missing values (NA, NaN, NaT), the value otherwise."""
    import pandas as pd

    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _true(series: Any) -> Any:
    return series.fillna(False).astype(bool)


def _live_vms(t: Tables) -> Any:
    vms = t["vms"]
    return vms[(vms["power_state"] == "poweredOn") & ~_true(vms["template"])]


def _old_snapshots(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["snapshot_age_days"]
    for r in t["snapshots"][t["snapshots"]["age_days"] > limit].itertuples():
        yield _finding(
            r.domain,
            "VirtualMachine",
            "warning",
            f"snapshot {r.name!r} is {r.age_days:.0f} days old; old snapshots grow and slow the VM: "
            "delete it once it is no longer needed",
            round(r.age_days, 1),
            limit,
            r.vm_moref,
        )


def _large_snapshots(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["snapshot_size_gib"]
    snaps = t["snapshots"]
    for r in snaps[snaps["size_mib"] > limit * 1024].itertuples():
        yield _finding(
            r.domain,
            "VirtualMachine",
            "warning",
            f"snapshot {r.name!r} takes {r.size_mib / 1024:.1f} GiB: delete or consolidate it",
            round(r.size_mib / 1024, 2),
            limit,
            r.vm_moref,
        )


def _tools(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    tools = t["tools"]
    templates = set(t["vms"].loc[_true(t["vms"]["template"]), "moref"]) if "vms" in t else set()
    for r in tools.itertuples():
        if r.vm_moref in templates:
            continue
        if r.tools_status == "toolsNotInstalled":
            yield _finding(
                r.vm,
                "VirtualMachine",
                "warning",
                "VMware tools are not installed: no guest shutdown, no guest IPs; install them",
                r.tools_status,
                None,
                r.vm_moref,
            )
        elif r.power_state == "poweredOn" and r.running_status != "guestToolsRunning":
            yield _finding(
                r.vm,
                "VirtualMachine",
                "warning",
                "VMware tools are not running in a powered-on guest: start the tools service",
                r.running_status,
                None,
                r.vm_moref,
            )
        elif r.tools_status == "toolsOld":
            yield _finding(
                r.vm,
                "VirtualMachine",
                "info",
                "VMware tools are out of date: upgrade them",
                r.version,
                None,
                r.vm_moref,
            )


def _cdroms(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    cds = t["cdroms"]
    for r in cds[_true(cds["connected"])].itertuples():
        yield _finding(
            r.vm,
            "VirtualMachine",
            "info",
            f"{r.label} is connected ({_given(r.file) or _given(r.backing) or 'no backing'}): it blocks vMotion to hosts without "
            "that media; disconnect it when done",
            r.file,
            None,
            r.vm_moref,
        )


def _consolidation(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    vms = t["vms"]
    for r in vms[_true(vms["consolidation_needed"])].itertuples():
        yield _finding(
            r.name,
            "VirtualMachine",
            "critical",
            "disks need consolidation (a snapshot removal left deltas): run Consolidate",
            True,
            None,
            r.moref,
        )


def _datastores(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["datastore_free_pct"]
    ds = t["datastores"]
    for r in ds[ds["free_pct"] < limit].itertuples():
        severity = "critical" if r.free_pct < limit / 2 else "warning"
        yield _finding(
            r.name,
            "Datastore",
            severity,
            f"only {r.free_pct:.1f} % free ({r.free_mib / 1024:.0f} GiB): move VMs, delete orphaned "
            "files or old snapshots, or grow the datastore",
            r.free_pct,
            limit,
            r.moref,
        )


def _partitions(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["partition_free_pct"]
    parts = t["partitions"]
    for r in parts[parts["free_pct"] < limit].itertuples():
        yield _finding(
            r.vm,
            "VirtualMachine",
            "warning",
            f"guest file system {r.path} has {r.free_pct:.1f} % free: clean up or grow the disk",
            r.free_pct,
            limit,
            r.vm_moref,
        )


def _per_host(t: Tables) -> Any:
    live = _live_vms(t)
    return live.groupby("host", observed=True).agg(vcpus=("vcpus", "sum"), memory_mib=("memory_mib", "sum"))


def _cpu_overcommit(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["vcpus_per_core"]
    load = _per_host(t)
    for r in t["hosts"].itertuples():
        if r.name in load.index and _given(r.cpu_cores):
            ratio = float(load.loc[r.name, "vcpus"]) / float(r.cpu_cores)
            if ratio > limit:
                yield _finding(
                    r.name,
                    "HostSystem",
                    "warning",
                    f"{ratio:.1f} vCPUs of running VMs per physical core: expect CPU ready time; "
                    "move VMs or add hosts",
                    round(ratio, 2),
                    limit,
                    r.moref,
                )


def _memory_overcommit(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = th["memory_overcommit"]
    load = _per_host(t)
    for r in t["hosts"].itertuples():
        if r.name in load.index and _given(r.memory_mib):
            ratio = float(load.loc[r.name, "memory_mib"]) / float(r.memory_mib)
            if ratio > limit:
                yield _finding(
                    r.name,
                    "HostSystem",
                    "warning",
                    f"running VMs are configured with {ratio:.2f}x the host's memory: ballooning and "
                    "swapping ahead",
                    round(ratio, 2),
                    limit,
                    r.moref,
                )


def _macs(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    nics = t["nics"]
    for r in nics[nics["mac_range"] == "outside"].itertuples():
        yield _finding(
            r.vm,
            "VirtualMachine",
            "warning",
            f"{r.label} has MAC {r.mac}, outside VMware's ranges: its .vmx needs "
            'ethernetN.checkMACAddress = "false" or ESX refuses to power it on',
            r.mac,
            None,
            r.vm_moref,
        )


def _restrictions(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    for r in t["vms"].itertuples():
        if _given(r.memory_mib) is not None and r.memory_mib % 4:
            yield _finding(
                r.name,
                "VirtualMachine",
                "info",
                f"memory {r.memory_mib} MiB is not a multiple of 4 MiB (the spec's restriction)",
                r.memory_mib,
                4,
                r.moref,
            )
        if _given(r.vcpus) is not None and r.vcpus > 1 and r.vcpus % 2:
            yield _finding(
                r.name,
                "VirtualMachine",
                "info",
                f"{r.vcpus} vCPUs: an odd count other than 1 (the spec's restriction)",
                r.vcpus,
                None,
                r.moref,
            )


def _hw_versions(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    limit = int(th["min_hw_version"])
    for r in t["vms"].itertuples():
        version = str(_given(r.hw_version) or "").removeprefix("vmx-")
        if version.isdigit() and int(version) < limit:
            yield _finding(
                r.name,
                "VirtualMachine",
                "info",
                f"virtual hardware {r.hw_version} is older than vmx-{limit}: upgrade at the next "
                "maintenance window",
                r.hw_version,
                f"vmx-{limit}",
                r.moref,
            )


def _hosts(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    for r in t["hosts"].itertuples():
        if r.connection_state != "connected":
            yield _finding(
                r.name,
                "HostSystem",
                "critical",
                f"host is {r.connection_state}: its VMs cannot be managed; reconnect it",
                r.connection_state,
                None,
                r.moref,
            )
        elif _given(r.maintenance_mode):
            yield _finding(
                r.name,
                "HostSystem",
                "warning",
                "host is in maintenance mode: it runs no VMs and adds no capacity",
                True,
                None,
                r.moref,
            )


def _orphans(t: Tables, th: Mapping[str, float]) -> Iterator[Finding]:
    files = t["datastore_files"]
    for r in files[_true(files["orphaned"])].itertuples():
        yield _finding(
            r.path,
            "Datastore",
            "warning",
            f"{r.path} ({r.size_mib:.0f} MiB) belongs to no VM or template: delete it if nobody needs it",
            r.size_mib,
            None,
            r.datastore_moref,
        )


RULES: tuple[Rule, ...] = (
    Rule("snapshot_old", ("snapshots",), _old_snapshots, "snapshots older than snapshot_age_days"),
    Rule("snapshot_large", ("snapshots",), _large_snapshots, "snapshots larger than snapshot_size_gib"),
    Rule("tools", ("tools", "vms"), _tools, "tools not installed, not running in a running guest, or old"),
    Rule("cdrom_connected", ("cdroms",), _cdroms, "connected CD/DVD drives"),
    Rule("consolidation_needed", ("vms",), _consolidation, "VMs whose disks need consolidation"),
    Rule("datastore_free", ("datastores",), _datastores, "datastores with less than datastore_free_pct free"),
    Rule("partition_free", ("partitions",), _partitions, "guest file systems below partition_free_pct free"),
    Rule("cpu_overcommit", ("vms", "hosts"), _cpu_overcommit, "hosts above vcpus_per_core"),
    Rule("memory_overcommit", ("vms", "hosts"), _memory_overcommit, "hosts above memory_overcommit"),
    Rule("mac_outside_vmware", ("nics",), _macs, "MACs outside VMware's ranges"),
    Rule("spec_restrictions", ("vms",), _restrictions, "memory not a multiple of 4 MiB, odd vCPU counts"),
    Rule("old_hw_version", ("vms",), _hw_versions, "virtual hardware older than min_hw_version"),
    Rule("host_state", ("hosts",), _hosts, "hosts disconnected or in maintenance mode"),
    Rule("orphaned_files", ("datastore_files",), _orphans, "virtual disks no VM or template uses"),
)


def health(tables: Tables, **thresholds: float) -> pd.DataFrame:
    """The findings: ``rule``, ``severity`` (info, warning, critical), ``entity``,
    ``entity_type``, ``message`` (what is wrong and the fix), ``value``, ``threshold``, ``moref``."""
    import pandas as pd

    unknown = set(thresholds) - set(THRESHOLDS)
    if unknown:
        raise errors.ValidationError(
            f"unknown threshold(s) {', '.join(sorted(unknown))}; known: "
            + ", ".join(f"{k} (default {v:g})" for k, v in THRESHOLDS.items())
        )
    th = {**THRESHOLDS, **thresholds}
    rows: list[Finding] = []
    skipped = []
    for rule in RULES:
        if any(name not in tables for name in rule.tables):
            skipped.append(rule.name)
            continue
        rows.extend({"rule": rule.name, **finding} for finding in rule.check(tables, th))
    columns = ["rule", "severity", "entity", "entity_type", "message", "value", "threshold", "moref"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["severity"] = pd.Categorical(frame["severity"], categories=SEVERITIES, ordered=True)
    frame = frame.sort_values(["severity", "rule", "entity"], ascending=[False, True, True], kind="stable")
    frame = frame.reset_index(drop=True).astype({c: "string" for c in columns if c != "severity"})
    frame.attrs["skipped"] = skipped
    frame.attrs["thresholds"] = th
    return frame


def reaching(findings: pd.DataFrame, level: str) -> pd.DataFrame:
    """The findings at least as severe as ``level`` (one of :data:`SEVERITIES`)."""
    if level not in SEVERITIES:
        raise errors.ValidationError(f"severity {level!r} is not one of {', '.join(SEVERITIES)}")
    return findings[findings["severity"] >= level]


def fail_on(findings: pd.DataFrame, level: str | None) -> None:
    """Raise :class:`~esxnb.errors.HealthCheckFailed` when a finding is at least as severe as
    ``level``; ``None`` or ``""`` never fails. A runbook's last cell, for an exit status."""
    if not level:
        return
    bad = reaching(findings, level)
    if len(bad):
        counts = bad["severity"].value_counts()
        summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts.get(s, 0))
        rules = ", ".join(sorted(set(bad["rule"])))
        raise errors.HealthCheckFailed(f"{summary} finding(s) at or above {level!r} (rules: {rules})")
