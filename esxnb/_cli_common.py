"""What every ``esxnb`` sub-command module shares: reading an input file (``-`` for stdin),
connecting, and the ``-c URI`` / ``--ca-file`` options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EsxnbError

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["read_input", "connect_to", "add_connection_options"]


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EsxnbError(f"cannot read {path}: {exc.strerror}") from None


def connect_to(uri: str, ca_file: str | None) -> Connection:
    # imported here so that offline commands (conversion without -c) stay light
    from .connection import connect

    return connect(uri, ca_file=ca_file)


def add_connection_options(sub: argparse.ArgumentParser, required: bool) -> None:
    sub.add_argument("-c", "--connect", metavar="URI", required=required, help="esx://, gsx:// or vpx:// URI")
    sub.add_argument("--ca-file", help="CA bundle to verify the server's certificate with")
