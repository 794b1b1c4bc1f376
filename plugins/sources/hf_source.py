"""Hugging Face ``datasets``: a dataset saved with ``save_to_disk``, or a dataset on the Hub.

A split input is ``PATH_OR_ID`` or ``PATH_OR_ID#split``; without ``#split`` the pipeline's split
name (train, validation, test) is used. Integer labels with a ``ClassLabel`` feature become names.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field
from textcls import (
    FILE_COLUMN,
    LABEL_COLUMN,
    ROW_COLUMN,
    TEXT_COLUMN,
    DataError,
    LoadedSplit,
    SplitRequest,
    join_text_columns,
)


class HfDiskParams(BaseModel):
    """A dataset saved with ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""

    model_config = ConfigDict(extra="forbid")


class HfHubParams(BaseModel):
    """A dataset on the Hugging Face Hub."""

    model_config = ConfigDict(extra="forbid")

    config_name: str | None = Field(None, description="The dataset's configuration (subset)")
    revision: str | None = None
    connect_timeout_s: float = Field(5.0, gt=0, description="Reachability check before loading")


def _split_input(value: str, default_split: str) -> tuple[str, str]:
    base, sep, split = value.partition("#")
    return base, (split if sep else default_split)


def _to_split(dataset: Any, where: str, request: SplitRequest) -> pa.Table:
    names = list(dataset.column_names)
    needed = list(request.text_columns) + ([request.label_column] if request.label_column else [])
    missing = [c for c in needed if c not in names]
    if missing:
        raise DataError(
            f"{where}: column {missing[0]!r} not found; columns found: "
            f"{', '.join(names)}. Set data.text_column / data.label_column."
        )
    raw = dataset.select_columns(needed).data.table
    columns = {
        TEXT_COLUMN: pc.cast(
            join_text_columns(raw, request.text_columns, request.text_separator), pa.string()
        )
    }
    if request.label_column is not None:
        labels = raw.column(request.label_column)
        feature = dataset.features[request.label_column]
        class_names = getattr(feature, "names", None)
        if class_names:
            labels = pc.take(pa.array(class_names, pa.string()), labels)
        columns[LABEL_COLUMN] = pc.cast(labels, pa.string())
    n = raw.num_rows
    columns[FILE_COLUMN] = pa.array([0] * n, pa.int32())
    columns[ROW_COLUMN] = pa.array(range(n), pa.int64())
    return pa.table(columns)


class HfDiskSource:
    """Load a split from a folder written by ``save_to_disk``."""

    def __init__(self, params: HfDiskParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        import datasets

        tables = []
        files = []
        for value in request.inputs:
            path, split = _split_input(value, request.split)
            if not os.path.isdir(path):
                raise DataError(
                    f"{request.field}: {path} is not a folder written by datasets' save_to_disk"
                )
            try:
                loaded = datasets.load_from_disk(path)
            except FileNotFoundError as exc:
                raise DataError(f"{path}: not a saved dataset ({exc})") from None
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise DataError(
                        f"{path}: no split {split!r}; splits found: "
                        f"{', '.join(loaded)}. Name one as {path}#SPLIT."
                    )
                loaded = loaded[split]
            tables.append(_to_split(loaded, path, request))
            files.append(f"{path}#{split}")
        table = pa.concat_tables(tables)
        return LoadedSplit(table, files, locator=lambda f, r: f"{files[f]}, row {r + 1}")


class HfHubSource:
    """Load a split of a Hub dataset through ``datasets.load_dataset``."""

    def __init__(self, params: HfHubParams) -> None:
        self.params = params

    def load(self, request: SplitRequest) -> LoadedSplit:
        import datasets

        self._check_online(request)
        tables = []
        files = []
        for value in request.inputs:
            dataset_id, split = _split_input(value, request.split)
            try:
                loaded = datasets.load_dataset(
                    dataset_id,
                    self.params.config_name,
                    split=split,
                    revision=self.params.revision,
                )
            except Exception as exc:  # datasets raises many types; the message is what matters
                raise DataError(
                    f"{request.field}: could not load {dataset_id!r} split {split!r} from the "
                    f"Hugging Face Hub: {type(exc).__name__}: {exc}"
                ) from None
            tables.append(_to_split(loaded, f"hf://{dataset_id}#{split}", request))
            files.append(f"hf://{dataset_id}#{split}")
        return LoadedSplit(
            pa.concat_tables(tables), files, locator=lambda f, r: f"{files[f]}, row {r + 1}"
        )

    def _check_online(self, request: SplitRequest) -> None:
        """Fail at once, with a reason, where the Hub cannot be reached (never hang)."""
        for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            if os.environ.get(variable, "").lower() in ("1", "true", "yes", "on"):
                raise DataError(
                    f"{request.field}: the hf-hub source needs the Hugging Face Hub, but "
                    f"{variable} is set. Save the dataset with save_to_disk on a machine with "
                    "network access and use the hf-disk source, or export it to CSV/Parquet."
                )
        endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
        host = endpoint.hostname or "huggingface.co"
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=self.params.connect_timeout_s):
                pass
        except OSError as exc:
            raise DataError(
                f"{request.field}: the Hugging Face Hub ({host}) cannot be reached: {exc}. "
                "Use the hf-disk source with a dataset saved by save_to_disk, or a local file."
            ) from None
