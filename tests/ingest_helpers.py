"""Helpers for ingest tests: build a config around files, run the stage, read the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
from textcls import config_from_dict
from textcls.stages.ingest import ingest


def make_config(base: Path, **data: Any):
    raw = {"name": "t", "seed": 3, "data": data}
    return config_from_dict(raw, base_dir=base, source=str(base / "pipeline.yaml"))


def run_ingest(base: Path, **data: Any) -> tuple[datasets.DatasetDict, dict, Path]:
    out = base / "out" / "data"
    ref = ingest(make_config(base, **data), out)
    assert Path(ref.path) == out.resolve()
    report = json.loads((out / "data_report.json").read_text())
    return datasets.load_from_disk(str(out)), report, out


def csv_text(rows: list[tuple[str, str]], header: str = "text,label") -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return buffer.getvalue()


def labels_of(split: datasets.Dataset) -> list[str]:
    names = split.features["label"].names
    return [names[i] for i in split["label"]]
