"""Out-of-fold probabilities of the pipeline's own teacher: one fine-tune per fold.

``data.label_issues_model: teacher`` asks the strongest model the pipeline has which training
labels look wrong. Each fold's rows are judged by a teacher fine-tuned on the other folds only
(a model that saw a row has memorised its label), so the check costs k fine-tunes on (k-1)/k of
the training rows: with 5 folds, about 5 x 0.8 = 4 teacher trainings.

Every fine-tune goes through the teacher stage's own code (``stages.finetune.fine_tune``: the
teacher section's model, tokenizer and train recipe, any model plugin), on a small ingest-style
artifact written to a system temp folder; its held-out fold is scored by the one ``Predictor``
(raw logits, softmax). Validation (checkpoint choice, early stopping) reads the pipeline's
validation split, never the fold being judged. The temp folders are removed afterwards, also
after an error or Ctrl-C: nothing is written beside the user's data. Trainer's curves of these
fine-tunes are kept out of the run's trackers (they are not the teacher's).

The ingest stage runs before any pretraining, so a teacher that starts from the pipeline's
``pretrain`` stage is fine-tuned here from its configured starting point instead.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from textcls.config import PipelineConfig
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.data")

#: The prefix of the temp folders (one per check; a leftover one names what made it).
TEMP_PREFIX = "textcls-label-issues-"


def teacher_out_of_fold_probabilities(
    config: PipelineConfig,
    texts: Sequence[str],
    codes: np.ndarray,
    names: Sequence[str],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    validation: tuple[Sequence[str], np.ndarray],
    *,
    plugins: PluginHost | None = None,
) -> np.ndarray:
    """(N, C) probabilities: row i from the teacher fine-tuned on the folds without it.

    ``codes`` index ``names``; ``folds`` are (train indices, held-out indices) pairs covering
    every row once; ``validation`` (texts, codes) is what each fine-tune validates on.
    """
    from textcls.predictor import Predictor, softmax
    from textcls.stages.finetune import fine_tune
    from textcls.tracking import untracked

    # one training per fold: the folds' models are judges, not candidates to choose among
    config = _trained_once(config)
    probabilities = np.zeros((len(texts), len(names)), dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp, untracked():
        for k, (train_index, held_index) in enumerate(folds):
            start = time.perf_counter()
            fold = Path(tmp) / f"fold-{k}"
            data_dir = fold / "data"
            _write_fold_data(
                data_dir,
                ([texts[i] for i in train_index], codes[train_index]),
                validation,
                names,
            )
            ref = fine_tune(config, "teacher", data_dir, fold / "teacher", plugins=plugins)
            predictor = Predictor.load(ref.path)
            held = [texts[i] for i in held_index]
            probabilities[held_index] = softmax(predictor.logits(held).astype(np.float64))
            log.info(
                "label issues: teacher fold %d/%d (%d rows held out) in %.0f s",
                k + 1,
                len(folds),
                len(held_index),
                time.perf_counter() - start,
            )
    return probabilities


def _trained_once(config: PipelineConfig) -> PipelineConfig:
    """``config`` with the teacher's ``train.restarts`` at 1 (5 folds x N trainings otherwise)."""
    teacher = config.teacher
    if teacher is None or teacher.train.restarts == 1:
        return config
    train = teacher.train.model_copy(update={"restarts": 1})
    return config.model_copy(update={"teacher": teacher.model_copy(update={"train": train})})


def _write_fold_data(
    out_dir: Path,
    train: tuple[Sequence[str], np.ndarray],
    validation: tuple[Sequence[str], np.ndarray],
    names: Sequence[str],
) -> None:
    """The ingest artifact fine-tuning reads: train and validation splits, labels, fingerprint."""
    import datasets
    import pyarrow as pa
    from textcls.artifact_files import FINGERPRINT_FILE, LABELS_FILE
    from textcls.artifacts import atomic_dir, quiet_datasets, write_json_atomic
    from textcls.data.fingerprint import content_fingerprint

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(names))}
    )
    tables: dict[str, Any] = {
        split: pa.table(
            {"text": pa.array(list(rows), pa.string()), "label": pa.array(labels, pa.int64())}
        )
        for split, (rows, labels) in {"train": train, "validation": validation}.items()
    }
    dataset = datasets.DatasetDict(
        {
            split: datasets.Dataset(
                table.cast(features.arrow_schema), info=datasets.DatasetInfo(features=features)
            )
            for split, table in tables.items()
        }
    )
    with atomic_dir(out_dir) as tmp, quiet_datasets():
        dataset.save_to_disk(str(tmp))
        write_json_atomic(tmp / LABELS_FILE, list(names))
        write_json_atomic(
            tmp / FINGERPRINT_FILE,
            {"content_sha256": content_fingerprint(tables, list(names)), "sources": []},
        )
