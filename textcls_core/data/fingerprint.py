"""Fingerprints: what caching and the data watcher compare.

- ``content_fingerprint``: sha256 of the cleaned splits and the label order. Two runs that ingest
  the same examples get the same value, whatever the file names or timestamps.
- ``source_stats``: size and mtime of each input file, cheap to read on every watcher tick.
- ``sources_sha256``: the hash of the raw input bytes, to confirm a change the stats suggest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
from textcls.artifacts import file_sha256


def content_fingerprint(tables: Mapping[str, pa.Table], label_names: Sequence[str]) -> str:
    """sha256 over label names, then each split's texts and label ids in order."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(label_names).encode())
    for name in sorted(tables):
        table = tables[name]
        digest.update(f"\x1e{name}\x1e{table.num_rows}".encode())
        for batch in table.to_batches(max_chunksize=65536):
            texts = batch.column(batch.schema.get_field_index("text")).to_pylist()
            digest.update("\x1f".join(texts).encode())
            labels = batch.column(batch.schema.get_field_index("label"))
            digest.update(labels.to_numpy(zero_copy_only=False).astype("<i8").tobytes())
    return digest.hexdigest()


def source_stats(files: Iterable[str]) -> list[dict[str, Any]]:
    """Path, size and mtime of each local input file (remote inputs are listed by name)."""
    stats: list[dict[str, Any]] = []
    for path in files:
        try:
            info = os.stat(path)
        except OSError:
            stats.append({"path": path})
            continue
        stats.append({"path": path, "size": info.st_size, "mtime_ns": info.st_mtime_ns})
    return stats


def sources_sha256(files: Iterable[str]) -> str:
    """One hash over the raw bytes of the given files, in order."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.encode() + b"\0")
        digest.update(file_sha256(path).encode() if os.path.isfile(path) else b"-")
    return digest.hexdigest()
