"""Parquet files, read in record batches."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict
from textcls import (
    FILE_COLUMN,
    LABEL_COLUMN,
    ROW_COLUMN,
    TEXT_COLUMN,
    DataError,
    LoadedSplit,
    SplitRequest,
    expand_inputs,
    join_text_columns,
)


class ParquetParams(BaseModel):
    """Parquet needs no parsing options."""

    model_config = ConfigDict(extra="forbid")


class ParquetSource:
    """Read splits from Parquet files."""

    def __init__(self, params: ParquetParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        files = expand_inputs(request.inputs, request.field)
        tables = []
        for file_index, path in enumerate(files):
            try:
                parquet = pq.ParquetFile(path)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
            names = parquet.schema_arrow.names
            needed = list(request.text_columns)
            if request.label_column is not None:
                needed.append(request.label_column)
            missing = [c for c in needed if c not in names]
            if missing:
                raise DataError(
                    f"{path}: column {missing[0]!r} not found; columns found: {', '.join(names)}. "
                    "Set data.text_column / data.label_column."
                )
            raw = parquet.read(columns=needed)
            columns = {
                TEXT_COLUMN: pc.cast(
                    join_text_columns(raw, request.text_columns, request.text_separator),
                    pa.string(),
                )
            }
            if request.label_column is not None:
                columns[LABEL_COLUMN] = pc.cast(raw.column(request.label_column), pa.string())
            n = raw.num_rows
            columns[FILE_COLUMN] = pa.array([file_index] * n, pa.int32())
            columns[ROW_COLUMN] = pa.array(range(n), pa.int64())
            tables.append(pa.table(columns))
        return LoadedSplit(pa.concat_tables(tables), files)
