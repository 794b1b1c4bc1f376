"""Reading texts for ``textcls predict`` and writing its predictions.

Inputs: arguments, a text file (one text per line), CSV or JSON Lines (``--text-column``), or
standard input. Outputs: JSON Lines or CSV with the label and one probability per class,
written to a temporary file and renamed, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import uuid
from collections.abc import Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path

import numpy as np
from textcls import DataError


def read_texts(
    path: Path | None, text_column: str, arguments: Sequence[str], encoding: str = "utf-8"
) -> list[str]:
    """The texts to classify, from arguments, a file or standard input; never empty.

    Files and stdin are read as bytes and decoded strictly: a binary file, or text in another
    encoding than ``encoding``, is refused with its line instead of guessed at.
    """
    if arguments:
        texts = list(arguments)
        where = "the arguments"
    elif path is None:
        where = "standard input"
        texts = _lines(_decode(sys.stdin.buffer.read(), "<stdin>", encoding))
    else:
        where = str(path)
        texts = _read_file(path, text_column, encoding)
    if not texts:
        raise DataError(
            f"no texts to classify in {where}. Pass texts as arguments, --file FILE, or lines "
            "on standard input."
        )
    return texts


def _read_file(path: Path, text_column: str, encoding: str) -> list[str]:
    if path.is_dir():
        raise DataError(f"{path}: is a folder; --file takes a text, CSV or JSONL file")
    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    text = _decode(path.read_bytes(), str(path), encoding)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return _csv_texts(text, path, text_column, "\t" if suffix == ".tsv" else ",")
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_texts(text, path, text_column)
    return _lines(text)


def _decode(data: bytes, where: str, encoding: str) -> str:
    """Strictly decoded text; NUL bytes mean a binary file (or UTF-16 without saying so)."""
    if b"\0" in data and not encoding.lower().replace("-", "").startswith(("utf16", "utf32")):
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise DataError(
            f"{where}:{line}: holds NUL bytes: a binary file, not text. Give a text file (one "
            "text per line), CSV or JSONL, in UTF-8 or the --encoding you name."
        )
    try:
        return data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{where}:{line}: bytes {data[exc.start : exc.end]!r} are not valid {encoding}. "
            "Re-save the input as UTF-8, or pass --encoding with its real encoding (for "
            "example latin-1 or cp1252)."
        ) from None
    except LookupError:
        raise DataError(f"--encoding {encoding!r}: not a known text encoding") from None


def _split_lines(text: str) -> list[str]:
    """Lines split on newlines only: U+2028 and other separators may be part of a text."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _lines(text: str) -> list[str]:
    return [line for line in _split_lines(text) if line.strip()]


def _csv_texts(text: str, path: Path, text_column: str, delimiter: str) -> list[str]:
    previous = csv.field_size_limit(2**31 - 1)  # long texts are fine; the default is 128 KiB
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            found = ", ".join(reader.fieldnames or [])
            raise DataError(
                f"{path}:1: column {text_column!r} not found; columns found: "
                f"{found}. Pass --text-column."
            )
        texts = []
        for row in reader:
            value = row[text_column]
            if value is None:
                raise DataError(
                    f"{path}:{reader.line_num}: the row has no {text_column!r} field (too few "
                    "fields). Fix the row."
                )
            texts.append(value)
        return texts
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: cannot parse as CSV: {exc}") from None
    finally:
        csv.field_size_limit(previous)


def _jsonl_texts(text: str, path: Path, text_column: str) -> list[str]:
    texts = []
    for number, line in enumerate(_split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or text_column not in record:
            raise DataError(f"{path}:{number}: no key {text_column!r}; pass --text-column")
        value = record[text_column]
        if not isinstance(value, str):
            found = "null" if value is None else type(value).__name__
            raise DataError(
                f"{path}:{number}: {text_column!r} is {found}, not a string; give the text to "
                "classify, or remove the line"
            )
        texts.append(value)
    return texts


def check_output(path: Path, example: str = "predictions.jsonl") -> None:
    """Refuse an output path that is a folder (or inside a file) before any work is done;
    ``example`` is the file name the message suggests inside that folder."""
    if path.is_dir():
        raise DataError(
            f"--output {path}: is a folder; give a file path, for example {path / example}"
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise DataError(f"--output {path}: {parent} is a file, not a folder")


def render(texts: Sequence[str], probabilities: np.ndarray, labels: Sequence[str], fmt: str) -> str:
    """One row per text: the text, its most probable label, and each label's probability.

    JSON Lines come from one template per file (the label keys encoded once, floats as
    ``repr``, which is what ``json.dumps`` writes for a finite float) instead of a
    ``json.dumps`` of a dict per row: the same bytes in about a third of the time, which
    mattered once the int8 student predicted 20,000 texts in about a second (BENCHMARKS.md,
    predict-path). Probabilities that are not finite take ``json.dumps`` (``NaN``).
    """
    buffer = io.StringIO()
    best = probabilities.argmax(-1).tolist()
    rows = probabilities.tolist()  # Python floats for the whole file at once
    if fmt == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["text", "label", *[f"p_{label}" for label in labels]])
        for text, b, row in zip(texts, best, rows, strict=True):
            writer.writerow([text, labels[b], *[f"{p:.6f}" for p in row]])
        return buffer.getvalue()
    if not np.isfinite(probabilities).all():
        for text, b, row in zip(texts, best, rows, strict=True):
            record = {
                "text": text,
                "label": labels[b],
                "probabilities": dict(zip(labels, row, strict=True)),
            }
            buffer.write(json.dumps(record, ensure_ascii=False))
            buffer.write("\n")
        return buffer.getvalue()
    quoted = [encode_basestring(label) for label in labels]
    # %-formatting: escape the template's own percent signs (a label may hold one)
    keys = ", ".join(f"{key.replace('%', '%%')}: %r" for key in quoted)
    template = '{"text": %s, "label": %s, "probabilities": {' + keys + "}}\n"
    return "".join(
        [
            template % (encode_basestring(text), quoted[b], *row)
            for text, b, row in zip(texts, best, rows, strict=True)
        ]
    )


def write_atomic(path: Path, content: str) -> None:
    """Write to a temporary sibling and rename; no temporary file is left if that fails."""
    check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".pred.{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"--output {path}: cannot write: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
