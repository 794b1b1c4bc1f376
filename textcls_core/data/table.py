"""What a data source returns: an Arrow table of rows that remember where they came from.

Sources hand the ingest stage a ``pyarrow.Table`` with the columns ``text`` (string), ``label``
(string or integer, absent for unlabelled text), ``_file`` (index into ``files``) and ``_row``
(0-based record number within that file). Rows stay in Arrow all the way; only an error message
turns a row back into ``file:line`` through the source's ``locate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

TEXT = "text"
LABEL = "label"
FILE = "_file"
ROW = "_row"


@dataclass(frozen=True)
class SplitRequest:
    """What ingest asks a data source for: one split, its columns, and how to treat bad rows."""

    split: str
    inputs: Sequence[str]
    field: str
    text_columns: Sequence[str] = ("text",)
    text_separator: str = " "
    label_column: str | None = "label"
    bad_rows: str = "error"

    @property
    def labeled(self) -> bool:
        return self.label_column is not None


@dataclass(frozen=True)
class SkippedRow:
    """A row a source skipped because the config says ``bad_rows: skip``."""

    where: str
    reason: str


@dataclass
class LoadedSplit:
    """Rows of one split plus what is needed to report on them."""

    table: pa.Table
    files: list[str]
    skipped: list[SkippedRow] = field(default_factory=list)
    locator: Callable[[int, int], str] | None = None

    def locate(self, file_index: int, row: int) -> str:
        """``path:line`` (or ``path, row N``) of a row, for error messages."""
        if self.locator is not None:
            return self.locator(file_index, row)
        return f"{self.files[file_index]}, row {row + 1}"

    def locate_row(self, index: int) -> str:
        """Where the table's row ``index`` came from."""
        file_index = self.table.column(FILE)[index].as_py()
        row = self.table.column(ROW)[index].as_py()
        return self.locate(file_index, row)


class DataSource(Protocol):
    """What a data-source component's factory returns."""

    def load(self, request: SplitRequest) -> LoadedSplit: ...


def row_table(
    texts: Sequence[str | None],
    labels: Sequence[Any] | None,
    file_index: int,
    rows: Sequence[int],
    label_type: pa.DataType | None = None,
) -> pa.Table:
    """Build a source table from Python lists (for sources that parse row by row)."""
    columns: dict[str, pa.Array] = {TEXT: pa.array(texts, type=pa.string())}
    if labels is not None:
        columns[LABEL] = pa.array(labels, type=label_type)
    columns[FILE] = pa.array([file_index] * len(rows), type=pa.int32())
    columns[ROW] = pa.array(rows, type=pa.int64())
    return pa.table(columns)


def join_text_columns(table: pa.Table, columns: Sequence[str], separator: str) -> pa.Array:
    """Join several text columns into one, skipping empty parts (``[title, description]``)."""
    import pyarrow.compute as pc

    if len(columns) == 1:
        return table.column(columns[0]).combine_chunks()
    parts = [pc.fill_null(table.column(c), "") for c in columns]
    joined = pc.binary_join_element_wise(*parts, separator)
    return pc.utf8_trim(joined, characters=separator) if separator.strip() == "" else joined
