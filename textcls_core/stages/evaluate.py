"""The evaluation stage: every variant side by side on one split, with pictures.

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

log = logging.getLogger("textcls.evaluate")


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
) -> ArtifactRef:
    """Evaluate ``variants`` (name -> model folder) and ``baselines`` on ``split``."""
    import datasets
    from textcls.evaluation.baselines import run_baseline
    from textcls.evaluation.cost import cost_metrics, folder_size
    from textcls.evaluation.errors import confident_mistakes
    from textcls.evaluation.metrics import quality_metrics
    from textcls.evaluation.plots import confusion_heatmap, pareto_chart, reliability_diagram
    from textcls.evaluation.report import SCHEMA_VERSION, render_markdown
    from textcls.explanation.report_section import explain_for_report
    from textcls.predictor import Predictor

    data_dir = Path(data_dir)
    dataset = datasets.load_from_disk(str(data_dir))
    if split not in dataset:
        raise DataError(f"{data_dir}: no split {split!r}; splits: {', '.join(dataset)}")
    names = read_labels(data_dir)
    texts = list(dataset[split]["text"])
    y = np.asarray(dataset[split]["label"])
    probabilities: dict[str, np.ndarray] = {}
    results: dict[str, Any] = {}
    for name, folder in variants.items():
        log.info("scoring %s on %d %s examples", name, len(texts), split)
        predictor = Predictor.load(folder)
        if predictor.labels != names:
            raise DataError(
                f"{folder}: the model's labels {predictor.labels} differ from the data's {names}"
            )
        probabilities[name] = predictor.probabilities(texts, 64)
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
        }
    train = dataset["train"]
    for baseline in baselines:
        log.info("training and scoring the %s baseline", baseline)
        probs, cost = run_baseline(
            baseline, list(train["text"]), list(train["label"]), texts, len(names), seed
        )
        probabilities[baseline] = probs
        results[baseline] = {"kind": "baseline", "path": None, "cost": cost, "notes": []}
    log.info("computing metrics and bootstrap intervals for %d variants", len(results))
    for name in results:
        results[name]["quality"] = quality_metrics(y, probabilities[name], names, seed=seed)
    best = max(results, key=lambda n: results[n]["quality"]["accuracy"])

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
        validation = list(dataset["validation"]["text"]) if "validation" in dataset else None
        explanations = explain_for_report(tmp, variants, texts, y, probabilities, names, validation)
        report = {
            "schema_version": SCHEMA_VERSION,
            "pipeline": pipeline,
            "split": split,
            "labels": names,
            "variants": results,
            "best": best,
            "plots": plots,
            "errors_csv": "errors.csv",
            "explanations": explanations,
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
