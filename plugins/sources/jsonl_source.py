"""JSON Lines files: one JSON object per line, parsed with exact line numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from textcls import (
    DataError,
    LoadedSplit,
    SkippedRow,
    SplitRequest,
    check_file_start,
    expand_inputs,
    find_undecodable_line,
    row_table,
)

_BATCH = 50_000


def _json_type(value: Any) -> str:
    names = {bool: "true/false", list: "a list", dict: "an object", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _text_problem(parts: list[Any], keys: Any) -> str | None:
    """Why a record's text fields cannot be used, or None (null text is an empty row)."""
    for key, value in zip(keys, parts, strict=True):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
            return f"text key {key!r} holds {_json_type(value)}; it must be a string"
    return None


def _label_problem(value: Any, key: str) -> str | None:
    """Why a label value is not a class name: true/false, lists, objects and NaN are not."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (
            f"label key {key!r} holds {_json_type(value)}; a label must be a string or an "
            "integer class id"
        )
    if isinstance(value, float) and not math.isfinite(value):
        return f"label key {key!r} holds {value!r}, which means no value; not a class"
    return None


class JsonlParams(BaseModel):
    """How to read JSON Lines files."""

    model_config = ConfigDict(extra="forbid")

    encoding: str = "utf-8"


class JsonlSource:
    """Read splits from ``.jsonl`` files; keys name the text and label fields."""

    def __init__(self, params: JsonlParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        files = expand_inputs(request.inputs, request.field)
        tables: list[pa.Table] = []
        skipped: list[SkippedRow] = []
        for file_index, path in enumerate(files):
            tables.extend(self._load_file(path, file_index, request, skipped))
        table = pa.concat_tables(tables) if tables else row_table([], [], 0, [])

        def locate(file_index: int, row: int) -> str:
            return f"{files[file_index]}:{row + 1}"

        return LoadedSplit(table, files, skipped, locate)

    def _load_file(
        self, path: str, file_index: int, request: SplitRequest, skipped: list[SkippedRow]
    ) -> list[pa.Table]:
        check_file_start(path, self.params.encoding)
        tables: list[pa.Table] = []
        texts: list[Any] = []
        labels: list[Any] = []
        rows: list[int] = []
        any_line = False

        def flush() -> None:
            tables.append(
                row_table(texts, labels if request.labeled else None, file_index, rows, pa.string())
            )
            texts.clear()
            labels.clear()
            rows.clear()

        def bad(line_number: int, reason: str) -> None:
            if request.bad_rows == "error":
                raise DataError(
                    f"{path}:{line_number}: {reason}. Fix the line, or set "
                    "data.bad_rows: skip to skip and report such lines."
                )
            skipped.append(SkippedRow(f"{path}:{line_number}", reason))

        try:
            with open(path, encoding=self.params.encoding, errors="strict") as handle:
                for index, line in enumerate(handle):
                    if not line.strip():
                        continue
                    any_line = True
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        bad(index + 1, f"invalid JSON ({exc.msg} at column {exc.colno})")
                        continue
                    if not isinstance(record, dict):
                        bad(index + 1, f"expected a JSON object, found {type(record).__name__}")
                        continue
                    needed = list(request.text_columns)
                    if request.label_column is not None:
                        needed.append(request.label_column)
                    missing = [k for k in needed if k not in record]
                    if missing:
                        raise DataError(
                            f"{path}:{index + 1}: key {missing[0]!r} not found; keys found: "
                            f"{', '.join(record)}. Set data.text_column / data.label_column."
                        )
                    parts = [record[k] for k in request.text_columns]
                    problem = _text_problem(parts, request.text_columns)
                    label = None
                    if problem is None and request.label_column is not None:
                        label = record[request.label_column]
                        problem = _label_problem(label, request.label_column)
                    if problem is not None:
                        bad(index + 1, problem)
                        continue
                    if len(parts) == 1:
                        text = parts[0]
                    else:
                        text = request.text_separator.join(str(p) for p in parts if p)
                    texts.append(None if text is None else str(text))
                    if request.label_column is not None:
                        labels.append(None if label is None else str(label))
                    rows.append(index)
                    if len(rows) >= _BATCH:
                        flush()
        except UnicodeDecodeError:
            raise DataError(find_undecodable_line(path, self.params.encoding) or path) from None
        except UnicodeError as exc:
            raise DataError(f"{path}: cannot decode as {self.params.encoding}: {exc}") from None
        if not any_line:
            raise DataError(f"{path}: the file holds no JSON lines.")
        if rows or not tables:
            flush()
        return tables
