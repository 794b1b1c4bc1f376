"""Which file of an artifact holds what, and the readers later stages use.

Stages talk through artifacts on disk (see ``artifacts.py``). This module is the one place
that names their files, so a stage reads another's output without importing that stage, and a
file name is spelled once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# ingest: data/
LABELS_FILE = "labels.json"  #: label names, in id order
FINGERPRINT_FILE = "fingerprint.json"  #: content hash of the cleaned data, and its sources
DATA_REPORT_JSON = "data_report.json"
DATA_REPORT_MD = "data_report.md"
# pretrain/, quantized/<variant>/
PRETRAIN_REPORT = "pretrain.json"  #: objective, held-out loss and perplexity
QUANTIZE_REPORT = "quantize.json"  #: the accuracy gate's numbers and the delivered precision
# eval/
EVAL_REPORT_JSON = "report.json"
EVAL_REPORT_MD = "report.md"
# a run folder
MANIFEST_FILE = "manifest.json"


def read_json(path: str | Path) -> Any:
    """A JSON file written by textcls (UTF-8)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_labels(data_dir: str | Path) -> list[str]:
    """The ordered label names an ingest artifact holds."""
    return list(read_json(Path(data_dir) / LABELS_FILE))


def data_fingerprint(data_dir: str | Path) -> str:
    """The content hash of an ingest artifact's data (what keys every training stage)."""
    return str(read_json(Path(data_dir) / FINGERPRINT_FILE)["content_sha256"])


def read_eval_report(eval_dir: str | Path) -> dict[str, Any]:
    """``report.json`` of an evaluation artifact."""
    report: dict[str, Any] = read_json(Path(eval_dir) / EVAL_REPORT_JSON)
    return report


def read_quantize_report(folder: str | Path) -> dict[str, Any] | None:
    """``quantize.json`` of a quantized model folder; None for a folder no quantizer made."""
    path = Path(folder) / QUANTIZE_REPORT
    return dict(read_json(path)) if path.is_file() else None


def read_pretrain_report(folder: str | Path) -> dict[str, Any]:
    """``pretrain.json`` of a pretraining artifact."""
    report: dict[str, Any] = read_json(Path(folder) / PRETRAIN_REPORT)
    return report
