"""The evaluation stage: every variant side by side on one split, with pictures.

Choices read validation (``evaluation/selection.py``): the best variant is the best on
validation, and the reported split (test by default) is scored once and only reported.
Calibrated folders are scored as the Predictor serves them, with ECE and Brier before and after.

Scores each model folder (PyTorch or ONNX) and each configured baseline on the same examples:
quality metrics with bootstrap intervals, cost metrics measured in a fresh process each, the
most confident mistakes, three kinds of plots, ``report.json``/``report.md``. The model folders
it scores are upstream artifacts and stay as they are (a registered version's card carries its
evaluation: see ``model_card.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from textcls.artifact_files import (
    DATA_REPORT_MD,
    EVAL_REPORT_JSON,
    EVAL_REPORT_MD,
    read_labels,
    read_quantize_report,
)
from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256, write_json_atomic
from textcls.errors import DataError
from textcls.evaluation.selection import SELECTION_SPLIT

log = logging.getLogger("textcls.evaluate")

#: The report's explanations section when the pipeline switched it off.
EXPLANATIONS_OFF = "switched off (evaluate.explanations: false; textcls evaluate --no-explain)"


def evaluate(
    data_dir: str | Path,
    variants: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    pipeline: str = "textcls",
    split: str = "test",
    baselines: Sequence[str] = (),
    seed: int = 13,
    measure_cost: bool = True,
    explanations: bool = True,
    selection_split: str | None = SELECTION_SPLIT,
    baseline_split: str | None = "train",
) -> ArtifactRef:
    """Evaluate ``variants`` (name -> model folder) and ``baselines``; report ``split``.

    Choices read ``selection_split`` (validation): the report's best variant is the best
    there, and ``split`` is scored once and only reported. ``selection_split=None`` (one file
    scored with ``textcls evaluate --data FILE``) chooses on the reported split and says so.
    Baselines train on ``baseline_split``, never on the rows they are scored on; None skips
    them with a note. ``explanations=False`` leaves the report's explanations out (integrated
    gradients: about half a second per text and PyTorch teacher on a 2-core CPU) and says so
    in their section.
    """
    import datasets
    from textcls.evaluation.baselines import run_baseline
    from textcls.evaluation.cost import cost_metrics, folder_size
    from textcls.evaluation.errors import confident_mistakes
    from textcls.evaluation.metrics import quality_metrics, selection_metrics
    from textcls.evaluation.plots import confusion_heatmap, pareto_chart, reliability_diagram
    from textcls.evaluation.report import SCHEMA_VERSION, render_markdown
    from textcls.evaluation.selection import choose_best, score_model
    from textcls.explanation.report_section import explain_for_report
    from textcls.model_folder import read_meta
    from textcls.predictor import Predictor
    from textcls.validation_logits import BATCH_SIZE, validation_logits

    data_dir = Path(data_dir)
    dataset = datasets.load_from_disk(str(data_dir))
    if split not in dataset:
        raise DataError(f"{data_dir}: no split {split!r}; splits: {', '.join(dataset)}")
    if selection_split is not None and selection_split not in dataset:
        raise DataError(
            f"{data_dir}: no {selection_split!r} split to choose on; splits: {', '.join(dataset)}"
        )
    if selection_split == split:
        selection_split = None  # choosing and reporting on one split: say so, score it once
    names = read_labels(data_dir)
    texts = list(dataset[split]["text"])
    y = np.asarray(dataset[split]["label"])
    selection = (
        (list(dataset[selection_split]["text"]), np.asarray(dataset[selection_split]["label"]))
        if selection_split is not None
        else None
    )
    report_notes: list[str] = []
    probabilities: dict[str, np.ndarray] = {}
    selection_probabilities: dict[str, np.ndarray] = {}
    results: dict[str, Any] = {}
    predictors: dict[str, Predictor] = {}  # the explanations reuse them
    for name, folder in variants.items():
        log.info("scoring %s on %d %s examples", name, len(texts), split)
        predictor = predictors[name] = Predictor.load(folder)
        if predictor.labels != names:
            raise DataError(
                f"{folder}: the model's labels {predictor.labels} differ from the data's {names}"
            )
        scored = score_model(
            predictor,
            texts,
            y,
            selection,
            read_meta(folder).get("calibration"),
            BATCH_SIZE,
            # validation logits the training job stored for this very model, when it did
            partial(validation_logits, folder, predictor, batch_size=BATCH_SIZE),
        )
        probabilities[name] = scored.probabilities
        if scored.selection_probabilities is not None:
            selection_probabilities[name] = scored.selection_probabilities
        if measure_cost:
            log.info("measuring latency, throughput and memory of %s in a fresh process", name)
        cost = (
            cost_metrics(folder, texts)
            if measure_cost
            else {
                "size_mb": folder_size(folder) / 1e6,
                "throughput": 0.0,
                "latency_b1_p50_ms": 0.0,
                "latency_b1_p95_ms": 0.0,
                "parameters": None,
                "peak_rss_mb": None,
                "backend": predictor.backend,
            }
        )
        results[name] = {
            "kind": "model",
            "path": str(folder),
            "cost": cost,
            "notes": _notes(Path(folder)),
            "selection": scored.selection,
            "calibration": scored.calibration,
        }
    if baselines and baseline_split is None:
        report_notes.append(
            f"baselines {', '.join(baselines)} skipped: no training file (a baseline never "
            "trains on the rows it is scored on; give --train FILE)"
        )
        baselines = ()
    for baseline in baselines:
        assert baseline_split is not None
        log.info("training the %s baseline on %s, scoring it", baseline, baseline_split)
        train = dataset[baseline_split]
        extra = selection[0] if selection is not None else []
        probs, cost = run_baseline(
            baseline,
            list(train["text"]),
            list(train["label"]),
            [*texts, *extra],
            len(names),
            seed,
        )
        probabilities[baseline] = probs[: len(texts)]
        results[baseline] = {
            "kind": "baseline",
            "path": None,
            "cost": cost,
            "notes": [f"trained on the {baseline_split} split"],
            "selection": selection_metrics(selection[1], probs[len(texts) :])
            if selection is not None
            else None,
            "calibration": None,
        }
    log.info("computing metrics and bootstrap intervals for %d variants", len(results))
    for name in results:
        results[name]["quality"] = quality_metrics(y, probabilities[name], names, seed=seed)
    best = choose_best(results)
    selected_on = selection_split or split
    if selection_split is None:
        report_notes.append(
            f"no separate split to choose on: the best variant is chosen on {split}, so its "
            f"{split} score is optimistic"
        )

    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        plots_dir = tmp / "plots"
        plots_dir.mkdir()
        plots: dict[str, str] = {}
        for name, result in results.items():
            file = f"plots/confusion_{_slug(name)}.png"
            confusion_heatmap(
                result["quality"]["confusion_matrix"],
                names,
                f"Confusion matrix: {name}",
                tmp / file,
            )
            plots[f"confusion matrix: {name}"] = file
        reliability_diagram(
            {n: r["quality"]["reliability"] for n, r in results.items()},
            tmp / "plots" / "reliability.png",
            before={
                n: r["calibration"]["before"]["reliability"]
                for n, r in results.items()
                if r.get("calibration")
            },
        )
        plots["reliability diagram"] = "plots/reliability.png"
        if measure_cost:
            pareto_chart(
                {
                    n: {
                        "accuracy": r["quality"]["accuracy"],
                        "throughput": r["cost"]["throughput"],
                        "size_mb": r["cost"]["size_mb"],
                    }
                    for n, r in results.items()
                },
                tmp / "plots" / "pareto.png",
            )
            plots["accuracy vs throughput"] = "plots/pareto.png"
        confident_mistakes(tmp / "errors.csv", probabilities, texts, y, names)
        explained: dict[str, Any] = {"html": None, "items": [], "skipped": EXPLANATIONS_OFF}
        if explanations:
            validation = list(dataset["validation"]["text"]) if "validation" in dataset else None
            # the models' validation probabilities, when scoring already computed them
            known = (
                selection_probabilities
                if selection_split == "validation"
                else probabilities
                if split == "validation"
                else None
            )
            explained = explain_for_report(
                tmp, variants, texts, y, probabilities, names, validation, known, predictors
            )
        report = {
            "schema_version": SCHEMA_VERSION,
            "pipeline": pipeline,
            "split": split,
            "selected_on": selected_on,
            "labels": names,
            "variants": results,
            "best": best,
            "plots": plots,
            "errors_csv": "errors.csv",
            "explanations": explained,
            "notes": report_notes,
        }
        write_json_atomic(tmp / EVAL_REPORT_JSON, report)
        data_md = data_dir / DATA_REPORT_MD
        data_section = data_md.read_text() if data_md.is_file() else None
        (tmp / EVAL_REPORT_MD).write_text(render_markdown(report, data_section), encoding="utf-8")
    return ArtifactRef(
        stage="evaluate", path=str(out_dir.resolve()), sha256=directory_sha256(out_dir)
    )


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def _notes(folder: Path) -> list[str]:
    from textcls.distillation.transfer_report import transfer_note
    from textcls.model_folder import read_meta

    gate = read_quantize_report(folder)
    notes = [gate["reason"]] if gate and gate.get("reason") else []
    transfer = transfer_note(read_meta(folder))
    return notes + ([transfer] if transfer else [])
