"""Random restarts: train several times, keep the run best on validation.

On small training sets a model's accuracy depends on its seed (the order of the batches,
dropout) by more than most settings move it: on the scoreboard's 2,000-row SST-2 the
distilled student's validation accuracy spread over 14 of 500 texts across three seeds
(BENCHMARKS.md, "Student defaults study"). Devlin et al. (2019) met the same instability
fine-tuning BERT on small GLUE sets and ran "several random restarts", keeping the best on the
development set; ``train.restarts: N`` does that. The test split is never read (issue #18):
the choice is by ``train.metric_for_best_model`` on validation, ties to the earlier run.

Each finished run is a complete model folder under the job's work folder
(``restarts/<k>``, written atomically), so a killed job resumes after its last finished run;
the chosen folder is copied to the artifact with the record of every run in its metrics.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from textcls.artifacts import atomic_dir
from textcls.config import TrainConfig
from textcls.model_card import write_model_card
from textcls.model_folder import META_FILE, count_parameters, load_model_folder
from textcls.version import __version__

#: Each run's metrics kept in the artifact's record of the restarts.
RECORDED = (
    "seed",
    "validation_accuracy",
    "validation_macro_f1",
    "validation_loss",
    "train_runtime_s",
    "global_step",
)


def finished_run(root: Path, k: int) -> dict[str, Any] | None:
    """Run ``k``'s metrics when its model folder was written, else None."""
    meta_file = root / str(k) / META_FILE
    if not meta_file.is_file():
        return None
    metrics: dict[str, Any] = json.loads(meta_file.read_text()).get("metrics", {})
    return metrics


def chosen_run(runs: list[dict[str, Any]], metric: str) -> int:
    """The index of the best run by validation ``metric`` (loss: lowest), the earliest of ties."""
    key = f"validation_{metric}"
    sign = -1.0 if metric == "loss" else 1.0
    best = max(sign * float(run[key]) for run in runs)
    return next(i for i, run in enumerate(runs) if sign * float(run[key]) == best)


def write_chosen(root: Path, train: TrainConfig, out_dir: Path) -> dict[str, Any]:
    """Copy the best finished run's folder to ``out_dir``; return its metrics with the record.

    The copy keeps the run's bytes (model, tokenizer, validation logits, whose cache key is
    the files' hashes); only ``textcls.json`` and the model card gain the restarts' record.
    """
    runs = []
    for k in range(train.restarts):
        run = finished_run(root, k)
        if run is None:
            raise FileNotFoundError(f"{root / str(k)}: restart {k} has no model folder")
        runs.append(run)
    chosen = chosen_run(runs, train.metric_for_best_model)
    source = root / str(chosen)
    meta = json.loads((source / META_FILE).read_text())
    metrics = {
        **runs[chosen],
        "restarts": [{key: run.get(key) for key in RECORDED} for run in runs],
        "chosen_restart": chosen,
        "chosen_by": f"validation_{train.metric_for_best_model}",
        # the time spent on all of them, which is what the job cost
        "restarts_train_runtime_s": sum(float(run.get("train_runtime_s") or 0) for run in runs),
    }
    meta = {**meta, "textcls_version": meta.get("textcls_version", __version__)}
    meta["metrics"] = metrics
    parameters = count_parameters(load_model_folder(source).model)
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        write_model_card(tmp, meta, parameters=parameters)
    return metrics
