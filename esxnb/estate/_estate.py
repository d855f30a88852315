"""``Estate``: the tables of one server at one moment, and its Parquet form."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Estate", "read_estate", "METADATA_FILE"]

METADATA_FILE = "estate.json"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _jsonable(attrs: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(attrs), default=str))
    except (TypeError, ValueError):
        return {}


class Estate(Mapping[str, "pd.DataFrame"]):
    """The tables of one server at one moment: ``estate["vms"]`` or ``estate.vms``.

    ``taken_at`` (UTC), ``source`` (the URI read, never with credentials), ``server``
    (``product``, ``version``, ``instance_uuid``). A read-only mapping: tables cannot be added,
    replaced or removed (the DataFrames are pandas' own, so copy one before editing it).
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        *,
        taken_at: dt.datetime,
        source: str,
        server: Mapping[str, str] | None = None,
    ) -> None:
        self._tables = dict(tables)
        self.taken_at = taken_at
        self.source = source
        self.server = dict(server or {})

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"this estate has no table {name!r}; it has {', '.join(self._tables)}") from None

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("_tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"Estate has no attribute or table {name!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} {len(frame)}" for name, frame in self._tables.items())
        return f"<Estate of {self.source} taken {self.taken_at:%Y-%m-%d %H:%M:%S} UTC: {sizes}>"

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, columns, and what the server would not show."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "table": name,
                    "rows": len(frame),
                    "columns": frame.shape[1],
                    "refused_properties": len(frame.attrs.get("missing", [])),
                }
                for name, frame in self._tables.items()
            ]
        )

    @property
    def server_name(self) -> str:
        """The server's host name, as used in dataset paths (``server=<name>``)."""
        from ..uri import parse_uri

        try:
            host = parse_uri(self.source).hostname or "server"
        except errors.EsxnbError:
            host = "server"
        return _SAFE.sub("_", host)

    # -- export -------------------------------------------------------------------------
    def metadata(self) -> pd.DataFrame:
        """One row about this estate (RVTools' vMetaData): ``esxnb_version``, ``created``
        (now: when the export is made), ``taken_at``, ``server`` (host name), ``source``,
        ``product``, ``version``, ``instance_uuid``."""
        import pandas as pd

        from .._version import __version__

        return pd.DataFrame(
            [
                {
                    "esxnb_version": __version__,
                    "created": pd.Timestamp.now(tz="UTC"),
                    "taken_at": pd.Timestamp(self.taken_at),
                    "server": self.server_name,
                    "source": self.source,
                    **{key: self.server.get(key) for key in ("product", "version", "instance_uuid")},
                }
            ]
        )

    def to_excel(self, path: str | Path, layout: str = "rvtools", *, overwrite: bool = False) -> Path:
        """An .xlsx with a sheet per table and one about the estate (``metadata``: RVTools'
        vMetaData); see :func:`esxnb.estate.write_excel`."""
        from ._excel import write_excel

        return write_excel(
            {**self._tables, "metadata": self.metadata()}, Path(path), layout=layout, overwrite=overwrite
        )

    def to_parquet(self, directory: str | Path, *, dataset: bool = False, overwrite: bool = False) -> Path:
        """One Parquet file per table plus ``estate.json`` in ``directory``; with ``dataset=True``
        in ``directory/server=<name>/taken=<UTC timestamp>/`` so a folder of estates over time
        is one dataset (``esxnb.history``, DuckDB, Spark...). Returns the folder written.
        An existing non-empty folder is refused unless ``overwrite=True``."""
        target = Path(directory)
        if dataset:
            target = target / f"server={self.server_name}" / f"taken={self.taken_at:%Y%m%dT%H%M%SZ}"
        if target.exists() and any(target.iterdir()) and not overwrite:
            raise errors.ExistsError(
                f"{target} exists and is not empty: choose another folder or pass overwrite=True"
            )
        target.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, frame in self._tables.items():
            frame.to_parquet(target / f"{name}.parquet", engine="pyarrow", index=False)
            written[name] = {"rows": len(frame), "attrs": _jsonable(frame.attrs)}
        metadata = {
            "taken_at": self.taken_at.isoformat(),
            "source": self.source,
            "server": self.server,
            "tables": written,
        }
        (target / METADATA_FILE).write_text(json.dumps(metadata, indent=2))  # tables in their order
        return target

    def health(self, **thresholds: float) -> pd.DataFrame:
        """The audit findings over this estate's tables (see :func:`esxnb.estate.health`)."""
        from ._health import health

        return health(self, **thresholds)

    def diff(self, older: Estate, **options: Any) -> pd.DataFrame:
        """What changed since ``older`` (see :func:`esxnb.estate.diff_estates`)."""
        from ._diff import diff_estates

        return diff_estates(older, self, **options)


def read_estate(directory: str | Path) -> Estate:
    """The Estate :meth:`Estate.to_parquet` wrote in ``directory``."""
    import pandas as pd

    folder = Path(directory)
    meta_file = folder / METADATA_FILE
    if not meta_file.is_file():
        raise errors.NotFoundError(f"{folder} holds no estate: {METADATA_FILE} is missing")
    try:
        meta = json.loads(meta_file.read_text())
        tables = {}
        for name, info in meta["tables"].items():
            frame = pd.read_parquet(folder / f"{name}.parquet", engine="pyarrow")
            frame.attrs.update(info.get("attrs", {}))
            tables[name] = frame
        taken_at = dt.datetime.fromisoformat(meta["taken_at"])
    except (KeyError, ValueError, OSError) as exc:
        raise errors.EsxnbError(f"{folder} holds a damaged estate: {exc}") from exc
    return Estate(tables, taken_at=taken_at, source=meta.get("source", ""), server=meta.get("server"))
