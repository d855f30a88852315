"""What every ``esxnb`` sub-command module shares: reading an input file (``-`` for stdin),
connecting (``-c URI``, else ``$ESXNB_URI``), virsh's output shapes (its tables, ``Label:``
lines, sizes) and the ``--json`` form of a command's answer."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EsxnbError

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "Reply",
    "read_input",
    "connect_to",
    "add_connection_options",
    "register_command",
    "runner",
    "vsh_table",
    "info_lines",
    "pretty_capacity",
    "records",
]

URI_VARIABLE = "ESXNB_URI"


@dataclass(frozen=True)
class Reply:
    """A command's answer: ``text`` as virsh prints it, ``data`` for ``--json``; ``blank_line``
    False for the few commands after which virsh prints no empty line."""

    text: str
    data: Any = None
    blank_line: bool = True
    exit_status: int = 0  # e.g. ``esxnb health --fail-on`` when findings reach the level


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EsxnbError(f"cannot read {path}: {exc.strerror}") from None


def connect_to(uri: str | None, ca_file: str | None) -> Connection:
    """A connection to ``uri``, else to ``$ESXNB_URI`` (as virsh falls back to
    ``$LIBVIRT_DEFAULT_URI``)."""
    # imported here so that offline commands (conversion without -c) stay light
    from .connection import connect

    uri = uri or os.environ.get(URI_VARIABLE)
    if not uri:
        raise EsxnbError(f"no server: give -c URI (before or after the command) or set {URI_VARIABLE}")
    return connect(uri, ca_file=ca_file)


def add_connection_options(sub: argparse.ArgumentParser, required: bool) -> None:
    sub.add_argument(
        "-c",
        "--connect",
        metavar="URI",
        required=required,
        help=f"esx://, gsx:// or vpx:// URI (default ${URI_VARIABLE})",
    )
    sub.add_argument("--ca-file", help="CA bundle to verify the server's certificate with")


def runner(run: Callable[[Any, argparse.Namespace], str | Reply]) -> Callable[[argparse.Namespace], int]:
    """The ``run`` of a sub-command that talks to a server: connect, answer, print the text
    and the empty line virsh ends every command's output with (or the JSON form)."""

    def go(args: argparse.Namespace) -> int:
        with connect_to(args.connect, args.ca_file) as conn:
            reply = run(conn, args)
        if isinstance(reply, str):
            reply = Reply(reply)
        if getattr(args, "json", False):
            data = reply.data if reply.data is not None else {"output": reply.text.rstrip("\n")}
            print(json.dumps(data, indent=2, default=str))
        else:
            text = reply.text if reply.text.endswith("\n") or not reply.text else reply.text + "\n"
            # virsh ends most commands' output with an empty line
            print(text, end="\n" if reply.blank_line else "")
        return reply.exit_status

    return go


def register_command(
    commands: Any, name: str, help_text: str, run: Callable[[Any, argparse.Namespace], str | Reply]
) -> argparse.ArgumentParser:
    """Add a virsh-style sub-command that needs a server (``-c URI`` optional: ``esxnb -c URI
    VERB`` gives it before the verb, ``$ESXNB_URI`` when neither does)."""
    sub = commands.add_parser(name, help=help_text)
    add_connection_options(sub, False)
    sub.add_argument("--json", action="store_true", help="print the answer as JSON")
    sub.set_defaults(run=runner(run))
    return sub


def vsh_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table as virsh's vshTable prints it: ' cell' padded to the widest cell plus two
    spaces, a dash line as wide as all columns plus three each."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[Any]) -> str:
        out = ""
        for i, cell in enumerate(cells):
            out += f" {cell}"
            if i < len(cells) - 1:
                out += " " * (widths[i] - len(str(cell)) + 2)
        return out + "\n"

    return line(header) + "-" * sum(w + 3 for w in widths) + "\n" + "".join(line(r) for r in rows)


def info_lines(pairs: Sequence[tuple[str, Any]]) -> str:
    """``Label:         value`` lines as virsh's ``%-15s %s`` prints them."""
    return "".join(f"{label + ':':<15} {value}\n" for label, value in pairs)


_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def pretty_capacity(value: int) -> str:
    """A size as virsh's vshPrettyCapacity and ``%.2lf %s`` print it."""
    if value < 1024:
        return f"{float(value):.2f} B"
    amount = float(value)
    for unit in _UNITS:
        amount /= 1024
        if amount < 1024 or unit == "EiB":
            return f"{amount:.2f} {unit}"
    raise AssertionError("unreachable")


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows for ``--json`` (missing values as null)."""
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value)))
