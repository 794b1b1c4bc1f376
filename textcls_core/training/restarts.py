"""Random restarts: train several times, keep the run best on validation.

On small training sets a model's accuracy depends on its seed (the order of the batches,
dropout) by more than most settings move it: on the scoreboard's 2,000-row SST-2 the
distilled student's validation accuracy spread over 14 of 500 texts across three seeds
(BENCHMARKS.md, "Student defaults study"). Devlin et al. (2019) met the same instability
fine-tuning BERT on small GLUE sets and ran "several random restarts", keeping the best on the
development set; ``train.restarts: N`` does that, except that every run starts from the
job's one set of initial weights (the work folder's ``init/``: Devlin et al.'s runs also
drew new classifier weights), so the runs differ in the order of the batches and in dropout.
The seeds are the pipeline's ``seed`` plus 0 to N - 1. The test split is never read (issue #18):
the choice is by ``train.metric_for_best_model`` on validation, ties to the earlier run.

Each finished run is a complete model folder under the job's work folder
(``restarts/<k>``, written atomically), so a killed job resumes after its last finished run;
the chosen folder becomes the artifact, with the record of every run in its metrics.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from textcls.artifacts import MARKER, atomic_dir
from textcls.config import TrainConfig
from textcls.model_card import CARD_FILE, write_model_card
from textcls.model_folder import META_FILE, count_parameters, load_model_folder

#: Each run's metrics kept in the artifact's record of the restarts.
RECORDED = (
    "seed",
    "validation_accuracy",
    "validation_macro_f1",
    "validation_loss",
    "train_runtime_s",
    "global_step",
    "resumed_from_step",
)


def finished_run(root: Path, k: int) -> dict[str, Any] | None:
    """Run ``k``'s metrics when its model folder was written, else None."""
    meta_file = root / str(k) / META_FILE
    if not meta_file.is_file():
        return None
    metrics: dict[str, Any] = json.loads(meta_file.read_text()).get("metrics", {})
    return metrics


def chosen_run(runs: list[dict[str, Any]], metric: str) -> int:
    """The index of the best run by validation ``metric`` (loss: lowest), the earliest of ties;
    a run whose metric is not a number (a diverged loss) is never chosen over one that is."""
    key = f"validation_{metric}"
    sign = -1.0 if metric == "loss" else 1.0

    def score(run: dict[str, Any]) -> float:
        value = float(run[key])
        return -math.inf if math.isnan(value) else sign * value

    scores = [score(run) for run in runs]
    return scores.index(max(scores))


#: Written for the artifact, not linked from the run's folder: they are rewritten below (the
#: marker by ``atomic_dir``), and a link would write through to the run's file.
_REWRITTEN = frozenset({META_FILE, CARD_FILE, MARKER})


def write_chosen(root: Path, train: TrainConfig, out_dir: Path) -> dict[str, Any]:
    """Publish the best finished run's folder as ``out_dir``; return its metrics with the record.

    The artifact's files are hard links to the run's (copies across file systems): the same
    bytes and inodes, so the validation logits' cache recognises the files without hashing
    them again (``textcls.validation_logits``). Only ``textcls.json`` and the model card are
    new: they gain the record of every run. ``train_runtime_s`` is the seconds of all runs,
    what the job cost; each run's own are in the record.
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
    meta["metrics"] = {
        **runs[chosen],
        "train_runtime_s": sum(float(run.get("train_runtime_s") or 0) for run in runs),
        "restarts": [{key: run.get(key) for key in RECORDED} for run in runs],
        "chosen_restart": chosen,
        "chosen_by": f"validation_{train.metric_for_best_model}",
    }
    # the exact count write_model_folder gives (tied weights once); one load among N trainings
    parameters = count_parameters(load_model_folder(source).model)
    with atomic_dir(out_dir) as tmp:
        for file in source.rglob("*"):
            if file.is_dir() or file.relative_to(source).as_posix() in _REWRITTEN:
                continue
            target = tmp / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(file, target)
            except OSError:
                shutil.copy2(file, target)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        write_model_card(tmp, meta, parameters=parameters)
    return dict(meta["metrics"])
