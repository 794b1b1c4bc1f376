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


def _check_type(path: str, column: str, kind: pa.DataType) -> None:
    """Text and labels are scalar columns; a list, struct or map column is refused by name."""
    if pa.types.is_nested(kind):
        raise DataError(
            f"{path}: column {column!r} has type {kind}; text and label columns must hold one "
            "string (or integer label) per row. Flatten the column before ingesting."
        )


def _as_text(path: str, column: str, values: pa.ChunkedArray) -> pa.Array:
    """A column as UTF-8 strings; binary that is not UTF-8 is refused with its row."""
    array = values.combine_chunks()
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            for row, value in enumerate(array.to_pylist()):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError as bad:
                    raise DataError(
                        f"{path}, row {row + 1}: column {column!r} holds bytes that are not "
                        f"UTF-8 text ({value[bad.start : bad.end]!r} at byte {bad.start + 1}). "
                        "Decode the column to UTF-8 strings before ingesting."
                    ) from None
        raise DataError(
            f"{path}: column {column!r} of type {array.type} cannot be read as text: {exc}"
        ) from None


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
            for column in needed:
                _check_type(path, column, parquet.schema_arrow.field(column).type)
            try:
                raw = parquet.read(columns=needed)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{path}: cannot read the Parquet data: {exc}") from None
            raw = pa.table({c: _as_text(path, c, raw.column(c)) for c in needed})
            columns = {
                TEXT_COLUMN: join_text_columns(raw, request.text_columns, request.text_separator)
            }
            if request.label_column is not None:
                columns[LABEL_COLUMN] = raw.column(request.label_column).combine_chunks()
            n = raw.num_rows
            columns[FILE_COLUMN] = pa.array([file_index] * n, pa.int32())
            columns[ROW_COLUMN] = pa.array(range(n), pa.int64())
            tables.append(pa.table(columns))
        return LoadedSplit(pa.concat_tables(tables), files)
