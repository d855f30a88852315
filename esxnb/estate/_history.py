"""Many estates over time, queried with DuckDB: the Parquet dataset ``Estate.to_parquet(root,
dataset=True)`` builds (``root/server=<name>/taken=<timestamp>/<table>.parquet``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["history", "History"]


class History:
    """A DuckDB connection with one view per table over every estate under ``root``; each view
    has the table's columns plus ``server`` and ``taken`` (a timestamp)."""

    def __init__(self, root: str | Path) -> None:
        import duckdb

        self.root = Path(root)
        if not self.root.is_dir():
            raise errors.NotFoundError(f"{self.root} is not a folder of estates")
        files = sorted(self.root.glob("server=*/taken=*/*.parquet"))
        if not files:
            raise errors.NotFoundError(
                f"{self.root} holds no estates (write them with estate.to_parquet(root, dataset=True))"
            )
        self.tables = sorted({f.stem for f in files})
        self.db = duckdb.connect()
        for table in self.tables:
            pattern = str(self.root / "server=*" / "taken=*" / f"{table}.parquet").replace("'", "''")
            self.db.execute(
                f'CREATE VIEW "{table}" AS SELECT * EXCLUDE (taken), '
                f"strptime(taken, '%Y%m%dT%H%M%SZ') AS taken "
                f"FROM read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"
            )

    def sql(self, query: str, *params: Any) -> pd.DataFrame:
        """Run ``query`` (DuckDB SQL over the table views) and return a DataFrame."""
        return self.db.execute(query, list(params)).df()

    def estates(self) -> pd.DataFrame:
        """One row per estate: server and time taken, with its VM count when it has ``vms``."""
        table = "vms" if "vms" in self.tables else self.tables[0]
        return self.sql(
            f'SELECT server, taken, count(*) AS rows FROM "{table}" GROUP BY ALL ORDER BY server, taken'
        )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def history(root: str | Path) -> History:
    """Every estate under ``root`` as DuckDB views, e.g.
    ``history(root).sql("SELECT taken, sum(memory_mib) FROM vms GROUP BY taken ORDER BY taken")``."""
    return History(root)
