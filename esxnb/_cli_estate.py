"""``esxnb estate`` (every estate table to an .xlsx or a Parquet folder) and ``esxnb health``
(the audit findings, with an exit status for runbooks and cron)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import errors
from ._cli_common import Reply, register_command, vsh_table

__all__ = ["register", "FAIL_EXIT"]

#: ``esxnb health --fail-on LEVEL`` exits with this when a finding reaches LEVEL.
FAIL_EXIT = 3


def _threshold(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER (e.g. snapshot_age_days=14), not {text!r}"
        ) from None


def _estate(conn: Any, args: argparse.Namespace) -> Reply:
    out = Path(args.output)

    def progress(percent: int, message: str) -> None:
        print(f"[{percent:3d}%] {message}", file=sys.stderr, flush=True)

    estate = conn.estate(args.tables.split(",") if args.tables else None, progress=progress)
    if out.suffix.lower() == ".xlsx":
        written = estate.to_excel(out, layout=args.layout, overwrite=args.overwrite)
    else:
        written = estate.to_parquet(out, dataset=args.dataset, overwrite=args.overwrite)
    rows = [[name, len(frame)] for name, frame in estate.items()]
    text = vsh_table(("Table", "Rows"), rows) + f"\nwritten to {written}\n"
    return Reply(text, {"written": str(written), "tables": dict(rows), "server": estate.server})


def _health(conn: Any, args: argparse.Namespace) -> Reply:
    from .estate import SEVERITIES, reaching

    thresholds = dict(args.threshold or [])
    findings = conn.health(**thresholds)
    if args.output:
        out = Path(args.output)
        if out.exists() and not args.overwrite:
            raise errors.ExistsError(f"{out} exists: choose another name or pass --overwrite")
        findings.to_csv(out, index=False)
    counts = findings["severity"].value_counts()
    status = FAIL_EXIT if args.fail_on and len(reaching(findings, args.fail_on)) else 0
    rows = [[f.severity, f.rule, f.entity, f.message] for f in findings.itertuples()]
    text = vsh_table(("Severity", "Rule", "Entity", "Finding"), rows) if rows else "no findings\n"
    text += "\n" + ", ".join(f"{counts.get(s, 0)} {s}" for s in reversed(SEVERITIES)) + "\n"
    data = {
        "findings": findings.astype(object).where(findings.notna(), None).to_dict("records"),
        "counts": {s: int(counts.get(s, 0)) for s in SEVERITIES},
    }
    return Reply(text, data, exit_status=status)


def register(commands: Any) -> None:
    sub = register_command(
        commands,
        "estate",
        "write every estate table to an .xlsx (RVTools layout) or a Parquet folder",
        _estate,
    )
    sub.add_argument("-o", "--output", required=True, help="FILE.xlsx, or a folder for Parquet files")
    sub.add_argument("--tables", help="comma-separated table names (default: all)")
    sub.add_argument(
        "--layout", choices=("rvtools", "esxnb"), default="rvtools", help="Excel sheet and column names"
    )
    sub.add_argument(
        "--dataset",
        action="store_true",
        help="Parquet: write under server=NAME/taken=TIME/ (for esxnb.history)",
    )
    sub.add_argument("--overwrite", action="store_true", help="replace an existing file or non-empty folder")

    sub = register_command(
        commands, "health", "audit the estate: snapshots, tools, capacity, orphans, hosts...", _health
    )
    sub.add_argument(
        "--fail-on",
        choices=("info", "warning", "critical"),
        help=f"exit with status {FAIL_EXIT} when a finding is at least this severe",
    )
    sub.add_argument(
        "--threshold",
        action="append",
        type=_threshold,
        metavar="NAME=NUMBER",
        help="override a threshold, e.g. snapshot_age_days=14 (repeatable)",
    )
    sub.add_argument("-o", "--output", help="also write the findings to this CSV file")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing CSV file")
