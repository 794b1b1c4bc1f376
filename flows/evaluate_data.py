"""Where ``textcls evaluate --data`` finds its examples: a pipeline file, data folder or file."""

from __future__ import annotations

from pathlib import Path

from textcls import DataError, config_from_dict, load_config

#: The folder under ``evaluate --output`` that holds the ingested examples.
INGESTED = "ingested"


def resolve_data(data: Path, output: Path, model_labels: list[str]) -> tuple[Path, str]:
    """Return an ingested data folder and a name for the report.

    - a folder written by ingest (``dataset_dict.json``) is used as it is;
    - a pipeline YAML is ingested with its own data section;
    - any other file (CSV, TSV, JSONL, Parquet with text and label columns) is ingested as the
      split to score, keeping the models' label order.

    Ingested data goes to ``output/ingested``, beside the report, never over a folder of the
    user's (``-o .`` next to a ``data/`` of CSVs leaves it alone).
    """
    from textcls.stages.ingest import ingest

    if data.is_dir() and (data / "dataset_dict.json").is_file():
        return data, data.name
    if not data.exists():
        raise DataError(f"--data {data}: not found")
    target = output / INGESTED
    if data.suffix.lower() in (".yaml", ".yml"):
        config = load_config(data)
        ingest(config, target, model_labels=model_labels or None)
        return target, config.name
    source = {".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}.get(
        data.suffix.lower(), "csv"
    )
    raw = {
        "name": data.stem,
        "data": {
            "source": source,
            "train": str(data),
            "validation": str(data),
            "test": str(data),
            "leakage": "warn",
            "drop_duplicates": False,
        },
    }
    ingest(config_from_dict(raw, base_dir=Path.cwd()), target, model_labels=model_labels or None)
    return target, data.stem
