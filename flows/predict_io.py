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
from pathlib import Path

from textcls import DataError
from textcls.predictor import Prediction


def read_texts(path: Path | None, text_column: str, arguments: Sequence[str]) -> list[str]:
    if arguments:
        return list(arguments)
    if path is None:
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            if reader.fieldnames is None or text_column not in reader.fieldnames:
                found = ", ".join(reader.fieldnames or [])
                raise DataError(
                    f"{path}:1: column {text_column!r} not found; columns found: "
                    f"{found}. Pass --text-column."
                )
            return [row[text_column] or "" for row in reader]
    if suffix in (".jsonl", ".ndjson"):
        texts = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
                if not isinstance(record, dict) or text_column not in record:
                    raise DataError(f"{path}:{number}: no key {text_column!r}; pass --text-column")
                texts.append(str(record[text_column]))
        return texts
    return [
        line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def render(
    texts: Sequence[str], predictions: Sequence[Prediction], labels: Sequence[str], fmt: str
) -> str:
    buffer = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["text", "label", *[f"p_{label}" for label in labels]])
        for text, p in zip(texts, predictions, strict=True):
            writer.writerow([text, p.label, *[f"{p.probabilities[label]:.6f}" for label in labels]])
    else:
        for text, p in zip(texts, predictions, strict=True):
            buffer.write(
                json.dumps(
                    {"text": text, "label": p.label, "probabilities": p.probabilities},
                    ensure_ascii=False,
                )
            )
            buffer.write("\n")
    return buffer.getvalue()


def write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)
