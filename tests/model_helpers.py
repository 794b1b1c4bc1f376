"""Toy data and tiny configs for model and training tests."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ingest_helpers import csv_text
from textcls import config_from_dict
from textcls.stages.ingest import ingest

POSITIVE = "good great fine lovely superb excellent nice happy".split()
NEGATIVE = "bad awful poor terrible horrid dull sad nasty".split()
FILLER = "the movie film plot was is a an and story".split()

TINY_MODELS = {
    "bilstm": {"embedding_dim": 16, "hidden_size": 16},
    "gru": {"embedding_dim": 16, "hidden_size": 16},
    "textcnn": {"embedding_dim": 16, "num_filters": 8, "kernel_sizes": [2, 3]},
    "transformer": {
        "hidden_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "max_position_embeddings": 64,
    },
    "bow": {"embedding_dim": 16, "ngram_buckets": 1000},
}


def toy_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Separable sentiment: the label is which word list the text draws from."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = POSITIVE if label == "pos" else NEGATIVE
        text = " ".join(rng.choice(FILLER + [rng.choice(words)] * 2) for _ in range(6))
        rows.append((f"{text} {rng.choice(words)}", label))
    return rows


def toy_data(base: Path, n: int = 200, name: str = "toy") -> tuple[dict, Path]:
    """Write and ingest a toy dataset; return the raw config dict and the data folder."""
    (base / "train.csv").write_text(csv_text(toy_rows(n)))
    (base / "val.csv").write_text(csv_text(toy_rows(60, seed=1)))
    raw = {
        "name": name,
        "seed": 5,
        "data": {
            "train": "train.csv",
            "validation": "val.csv",
            "test": "val.csv",
            "drop_duplicates": False,
        },
    }
    config = config_from_dict(raw, base_dir=base)
    ingest(config, base / "data")
    return raw, base / "data"


#: Per-architecture settings: a small post-LN BERT needs a gentler learning rate, with warm-up;
#: TextCNN's heavy dropout needs a few more epochs.
TINY_TRAIN = {
    "transformer": {"epochs": 5, "learning_rate": 0.001, "warmup_ratio": 0.1},
    "textcnn": {"epochs": 6},
}


def with_student(raw: dict, base: Path, model: str, **train) -> object:
    settings = {"epochs": 3, "batch_size": 16, "learning_rate": 0.01, "max_length": 32}
    raw = {
        **raw,
        "student": {
            "model": {"name": model, "params": TINY_MODELS.get(model, {})},
            "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
            "train": {**settings, **TINY_TRAIN.get(model, {}), **train},
        },
    }
    return config_from_dict(raw, base_dir=base)


def kill_once_written(script: str, base: Path, pattern: str, timeout: float = 240) -> None:
    """Run ``script`` (Python) in a child process and SIGKILL it as soon as a file matching the
    glob ``pattern`` under ``base`` exists (a checkpoint, say): a crash at that moment."""
    import pytest

    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if list(base.glob(pattern)):
                break
            assert child.poll() is None, f"the script ended before {pattern} appeared"
            time.sleep(0.05)
        else:
            pytest.fail(f"no {pattern} appeared within {timeout} s")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
