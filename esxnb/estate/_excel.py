"""The estate as an Excel workbook: RVTools' sheet and column names (``layout="rvtools"``) or
esxnb's (``layout="esxnb"``), frozen header rows, auto filters, fitted widths, real dates."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from ._registry import RVTOOLS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

__all__ = ["write_excel", "LAYOUTS", "sheet_layout"]

LAYOUTS = ("rvtools", "esxnb")
_MAX_WIDTH = 60
_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"


def sheet_layout(name: str, frame: pd.DataFrame, layout: str) -> tuple[str, list[tuple[str, str]]]:
    """``(sheet name, [(column, header), ...])``: RVTools' names and order first, then the
    columns RVTools lacks under esxnb's names (custom attributes under their own names)."""
    custom = frame.attrs.get("custom_attributes", {})
    if layout == "esxnb" or name not in RVTOOLS:
        return name[:31], [(c, c) for c in frame.columns]
    sheet, headers = RVTOOLS[name]
    ordered = [(c, h) for c, h in headers.items() if c in frame.columns]
    taken = {c for c, _ in ordered}
    ordered += [(c, custom.get(c, c)) for c in frame.columns if c not in taken]
    return sheet, ordered


def _cell(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return (
            value.tz_convert("UTC").tz_localize(None).to_pydatetime()
            if value.tzinfo
            else value.to_pydatetime()
        )
    if isinstance(value, pd.Timedelta):
        return round(value.total_seconds() / 86400, 3)  # days
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def write_excel(
    estate: Mapping[str, pd.DataFrame], path: Path, *, layout: str = "rvtools", overwrite: bool = False
) -> Path:
    """Write ``estate`` to ``path`` (.xlsx), atomically; an existing file needs ``overwrite``."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if layout not in LAYOUTS:
        raise errors.ValidationError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if path.suffix.lower() != ".xlsx":
        raise errors.ValidationError(f"{path} should end in .xlsx (an Excel workbook)")
    if path.exists() and not overwrite:
        raise errors.ExistsError(f"{path} exists: choose another name or pass overwrite=True")
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, frame in estate.items():
        sheet_name, columns = sheet_layout(name, frame, layout)
        sheet = book.create_sheet(sheet_name)
        sheet.freeze_panes = "A2"
        rows = [
            [_cell(v) for v in values] for values in frame[[c for c, _ in columns]].itertuples(index=False)
        ]
        for index, (column, header) in enumerate(columns, start=1):
            sample = [header] + [row[index - 1] for row in rows[:500]]
            width = max(len(str(v)) if v is not None else 0 for v in sample)
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), _MAX_WIDTH)
        if columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 1)}"
        header_cells = []
        for _, header in columns:
            cell = WriteOnlyCell(sheet, value=header)
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        dated = [i for i, (c, _) in enumerate(columns) if str(frame[c].dtype).startswith("datetime64")]
        for row in rows:
            if dated:
                row = list(row)
                for i in dated:
                    if row[i] is not None:
                        cell = WriteOnlyCell(sheet, value=row[i])
                        cell.number_format = _DATE_FORMAT
                        row[i] = cell
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".esxnb-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        book.save(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return path
