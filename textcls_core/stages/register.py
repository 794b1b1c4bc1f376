"""The register stage: put a run's chosen model in the registry and apply the promotion policy.

The chosen model is ``registry.variant`` when set (production usually wants the small int8
student, whatever scored best), else the model variant (not a baseline) that scored best on
``registry.metric`` on validation in this run's evaluation (the test split only reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textcls.artifact_files import read_eval_report, read_labels
from textcls.config import PipelineConfig
from textcls.errors import ConfigError
from textcls.registry import Decision, Registry


def choose_variant(config: PipelineConfig, report: dict[str, Any]) -> str:
    """The variant to register: the configured one, or the best model by the registry metric."""
    assert config.registry is not None
    models = {n: v for n, v in report["variants"].items() if v["kind"] == "model"}
    wanted = config.registry.variant
    if wanted is not None:
        if wanted not in models:
            raise ConfigError(
                f"registry.variant: {wanted!r} is not a model variant of this run; "
                f"variants: {', '.join(models)}"
            )
        return wanted
    from textcls.evaluation.selection import choose_best

    return choose_best(models, config.registry.metric)


def register(
    config: PipelineConfig,
    data_dir: str | Path,
    eval_dir: str | Path,
    variants: dict[str, str],
    manifest: dict[str, Any],
) -> Decision:
    """Register the chosen model with its test set, metrics and lineage; returns the decision."""
    import datasets

    assert config.registry is not None
    report = read_eval_report(eval_dir)
    chosen = choose_variant(config, report)
    split = datasets.load_from_disk(str(data_dir))[config.evaluate.split]
    names = read_labels(data_dir)
    texts = list(split["text"])
    labels = [names[i] for i in split["label"]]
    quality = report["variants"][chosen]["quality"]
    metrics = {
        "split": config.evaluate.split,
        **{k: quality[k] for k in ("accuracy", "macro_f1", "accuracy_ci95", "macro_f1_ci95")},
        "cost": report["variants"][chosen].get("cost"),
    }
    registry = Registry(config.registry.path, config.name, config.registry.lock_timeout_s)
    return registry.register(
        variants[chosen],
        test_texts=texts,
        test_labels=labels,
        manifest=manifest,
        metrics=metrics,
        variant=chosen,
        metric=config.registry.metric,
        min_improvement=config.registry.min_improvement,
    )
