"""Where ``textcls evaluate --data`` finds its examples: a pipeline file, data folder or file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textcls import DataError, config_from_dict, load_config

#: The folder under ``evaluate --output`` that holds the ingested examples.
INGESTED = "ingested"


@dataclass(frozen=True)
class EvaluationData:
    """An ingested data folder, a name for the report, and what its splits may be used for."""

    folder: Path
    name: str
    selection_split: str | None  # None: one scored file, nothing else to choose on
    baseline_split: str | None  # None: no training rows, so no baselines


def resolve_data(
    data: Path, output: Path, model_labels: list[str], train: Path | None = None
) -> EvaluationData:
    """Return an ingested data folder and how ``evaluate`` may use its splits.

    - a folder written by ingest (``dataset_dict.json``) is used as it is;
    - a pipeline YAML is ingested with its own data section;
    - any other file (CSV, TSV, JSONL, Parquet with text and label columns) is ingested as the
      one split to score, keeping the models' label order. It is never trained on: baselines
      need ``train`` (``--train FILE``), and are skipped otherwise.

    Ingested data goes to ``output/ingested``, beside the report, never over a folder of the
    user's (``-o .`` next to a ``data/`` of CSVs leaves it alone).
    """
    from textcls.stages.ingest import ingest

    if train is not None and not train.is_file():
        raise DataError(f"--train {train}: not found (give a labelled CSV, TSV, JSONL or Parquet)")
    if data.is_dir() and (data / "dataset_dict.json").is_file():
        if train is not None:
            raise DataError(
                f"--train {train}: only for --data FILE; the data folder {data} has its own "
                "train split"
            )
        return EvaluationData(data, data.name, "validation", "train")
    if not data.exists():
        raise DataError(f"--data {data}: not found")
    target = output / INGESTED
    if data.suffix.lower() in (".yaml", ".yml"):
        if train is not None:
            raise DataError(
                f"--train {train}: only for --data FILE; the pipeline {data} names its own train"
            )
        config = load_config(data)
        ingest(config, target, model_labels=model_labels or None)
        return EvaluationData(target, config.name, "validation", "train")
    raw = {
        "name": data.stem,
        "data": {
            "source": _source(data),
            "train": str(train or data),
            "validation": str(data),
            "test": str(data),
            "leakage": "warn",
            "drop_duplicates": False,
            "label_issues": "off",
        },
    }
    if train is not None and _source(train) != _source(data):
        raise DataError(
            f"--train {train} and --data {data}: give both in one format (both CSV, TSV, JSONL "
            "or Parquet)"
        )
    ingest(
        config_from_dict(raw, base_dir=Path.cwd()),
        target,
        model_labels=model_labels or None,
        score_only=train is None,
    )
    return EvaluationData(target, data.stem, None, "train" if train is not None else None)


def _source(path: Path) -> str:
    return {".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}.get(path.suffix.lower(), "csv")
