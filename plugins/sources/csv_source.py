"""CSV and TSV files, parsed by Arrow's streaming reader.

Arrow does the parsing (fast, bounded memory); the checks that need a line number (BOM, missing
columns, malformed rows, undecodable bytes) are done so that every error names ``file:line``.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import BaseModel, ConfigDict, Field, field_validator
from textcls import (
    FILE_COLUMN,
    LABEL_COLUMN,
    ROW_COLUMN,
    TEXT_COLUMN,
    DataError,
    LoadedSplit,
    SkippedRow,
    SplitRequest,
    check_file_start,
    expand_inputs,
    find_undecodable_line,
    join_text_columns,
)


@contextmanager
def _any_field_size() -> Iterator[None]:
    """Let Python's csv module read fields of any size, as Arrow does (its default is 128 KiB).

    Arrow parses the data; the csv module only finds line numbers, and must not fail on a long
    text that Arrow read fine.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


@contextmanager
def _silent_row_decode_errors() -> Iterator[None]:
    """Keep Arrow's failure to decode a malformed row's bytes off the console.

    Arrow decodes a malformed row before calling the invalid-row handler; if the bytes are not
    UTF-8 that raises inside Cython, which Python prints as "Exception ignored ... Traceback".
    The read then fails and the undecodable line is reported with its number instead.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, UnicodeDecodeError):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


class CsvParams(BaseModel):
    """How to parse delimited text files."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str = Field(",", min_length=1, max_length=1)
    quote_char: str | None = Field('"', description="None: fields are never quoted")
    double_quote: bool = Field(True, description='Inside quotes, "" stands for one "')
    escape_char: str | None = None
    encoding: str = Field("utf-8", description="Any Python codec name; utf-8-sig accepts a BOM")
    block_size_mb: int = Field(16, gt=0, description="Arrow read block size")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use a Python codec name") from None
        return value


class TsvParams(CsvParams):
    """Tab-separated files; unquoted by default, as GLUE's TSVs are."""

    delimiter: str = Field("\t", min_length=1, max_length=1)
    quote_char: str | None = None


class DelimitedSource:
    """Read splits from CSV/TSV files; several files or a glob make one split."""

    def __init__(self, params: CsvParams) -> None:
        self.params = params

    # Python's csv module and Arrow are given the same dialect, so header checks and line
    # lookups agree with what Arrow parsed.
    def _csv_kwargs(self) -> dict[str, Any]:
        p = self.params
        kwargs: dict[str, Any] = {"delimiter": p.delimiter, "doublequote": p.double_quote}
        if p.quote_char is None:
            kwargs["quoting"] = csv.QUOTE_NONE
        else:
            kwargs["quotechar"] = p.quote_char
        if p.escape_char is not None:
            kwargs["escapechar"] = p.escape_char
        return kwargs

    def _open_text(self, path: str) -> Any:
        return open(path, encoding=self.params.encoding, newline="", errors="strict")

    def _read_header(self, path: str) -> list[str]:
        try:
            with self._open_text(path) as handle, _any_field_size():
                header = next(csv.reader(handle, **self._csv_kwargs()), None)
        except UnicodeDecodeError:
            raise DataError(find_undecodable_line(path, self.params.encoding) or path) from None
        except (UnicodeError, csv.Error) as exc:
            raise DataError(f"{path}:1: cannot read the header line: {exc}") from None
        if not header:
            raise DataError(
                f"{path}:1: the header line is empty; the first line must name the "
                "columns (for example text,label)."
            )
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise DataError(
                    f"{path}:1: the header names column {name!r} twice; columns found: "
                    f"{', '.join(header)}. Rename or remove one of them."
                )
            seen.add(name)
        return header

    def load(self, request: SplitRequest) -> LoadedSplit:
        files = expand_inputs(request.inputs, request.field)
        tables: list[pa.Table] = []
        skipped: list[SkippedRow] = []
        skipped_lines: dict[int, set[int]] = {}
        for file_index, path in enumerate(files):
            table, bad = self._load_file(path, request)
            if bad:
                first_line, reason = bad[0]
                if request.bad_rows == "error":
                    more = f" ({len(bad) - 1} more malformed rows)" if len(bad) > 1 else ""
                    raise DataError(
                        f"{path}:{first_line}: malformed row: {reason}{more}. Fix the row, or set "
                        "data.bad_rows: skip to skip and report such rows."
                    )
                skipped.extend(SkippedRow(f"{path}:{line}", reason) for line, reason in bad)
                skipped_lines[file_index] = {line for line, _ in bad}
            n = table.num_rows
            table = table.append_column(FILE_COLUMN, pa.array([file_index] * n, pa.int32()))
            table = table.append_column(ROW_COLUMN, pa.array(range(n), pa.int64()))
            tables.append(table)
        combined = pa.concat_tables(tables) if tables else pa.table({})

        def locate(file_index: int, row: int) -> str:
            path = files[file_index]
            line = self._line_of_record(path, row, skipped_lines.get(file_index, set()))
            return f"{path}:{line}" if line else f"{path}, record {row + 1}"

        return LoadedSplit(combined, files, skipped, locate)

    def _load_file(
        self, path: str, request: SplitRequest
    ) -> tuple[pa.Table, list[tuple[int, str]]]:
        check_file_start(path, self.params.encoding)
        header = self._read_header(path)
        needed = list(request.text_columns)
        if request.label_column is not None:
            needed.append(request.label_column)
        missing = [c for c in needed if c not in header]
        if missing:
            which = "data.label_column" if missing == [request.label_column] else "data.text_column"
            raise DataError(
                f"{path}:1: column {missing[0]!r} not found; columns found: {', '.join(header)}. "
                f"Set {which} to one of them (or check data.source.params.delimiter)."
            )
        bad_rows: list[tuple[int, str]] = []

        def on_invalid(row: Any) -> str:
            where = row.number if row.number is not None else 0
            bad_rows.append(
                (where, f"expected {row.expected_columns} fields, found {row.actual_columns}")
            )
            return "skip"

        p = self.params
        encoding = p.encoding
        if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
            encoding = "utf8"  # Arrow's native path; it drops a UTF-8 BOM (allowed by utf-8-sig)
        read_options = pacsv.ReadOptions(
            encoding=encoding, block_size=p.block_size_mb << 20, use_threads=False
        )
        parse_options = pacsv.ParseOptions(
            delimiter=p.delimiter,
            quote_char=p.quote_char if p.quote_char is not None else False,
            double_quote=p.double_quote,
            escape_char=p.escape_char if p.escape_char is not None else False,
            newlines_in_values=p.quote_char is not None,
            invalid_row_handler=on_invalid,
        )
        convert_options = pacsv.ConvertOptions(
            include_columns=needed,
            column_types={c: pa.string() for c in needed},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        try:
            with _silent_row_decode_errors():
                raw = pacsv.read_csv(path, read_options, parse_options, convert_options)
        except (pa.ArrowInvalid, UnicodeError) as exc:
            if "UTF8" in str(exc) or isinstance(exc, UnicodeError):
                where = find_undecodable_line(path, p.encoding)
                raise DataError(where or f"{path}: not valid {p.encoding}: {exc}") from None
            raise DataError(f"{path}: cannot parse as delimited text: {exc}") from None
        columns = {
            TEXT_COLUMN: join_text_columns(raw, request.text_columns, request.text_separator)
        }
        if request.label_column is not None:
            columns[LABEL_COLUMN] = raw.column(request.label_column).combine_chunks()
        return pa.table(columns), bad_rows

    def _line_of_record(self, path: str, record: int, skipped_lines: set[int]) -> int | None:
        """The physical line where data record ``record`` (0-based, as Arrow kept it) starts."""
        try:
            with self._open_text(path) as handle, _any_field_size():
                reader = csv.reader(handle, **self._csv_kwargs())
                next(reader, None)  # header
                kept = -1
                start = reader.line_num + 1
                for fields in reader:
                    line = start
                    start = reader.line_num + 1
                    if not fields or line in skipped_lines:
                        continue
                    kept += 1
                    if kept == record:
                        return line
        except (csv.Error, UnicodeError):  # Arrow read what Python cannot: give the record
            return None
        return None
