"""Small tables as pandas DataFrames: rows of dicts, a fixed column list with dtypes.

Pools, volumes, networks and interfaces each declare their columns once; an empty result
still has every column (so notebooks can filter and join without special cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Column", "frame"]

#: (column name, pandas dtype)
Column = tuple[str, str]


def frame(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns``, in order (missing values become NA)."""
    import pandas as pd

    rows = list(rows)
    data = {name: pd.Series([row.get(name) for row in rows], dtype=dtype) for name, dtype in columns}
    return pd.DataFrame(data, columns=[name for name, _ in columns])
