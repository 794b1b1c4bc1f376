"""Model cards: a README.md with a Hugging Face metadata block, written once per model folder.

``huggingface_hub.ModelCard`` writes the YAML header that the Hub, MLflow and other tools read
(library, pipeline tag, license, base model, labels, the data fingerprint and, for a registered
version, a ``model-index`` with its test scores); the body is for people.

Who writes a card, and when: the stage that makes a model folder (fine-tune, distill, pretrain,
through ``write_model_folder``) writes the card of what it trained; ``Registry.register`` writes
the registered version's card, with the evaluation that chose it. Evaluation never edits an
upstream artifact: its numbers go into the run's report and, for the registered model, into
that version's card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textcls.version import __version__

CARD_FILE = "README.md"


def render_model_card(
    meta: Mapping[str, Any],
    *,
    parameters: int | None = None,
    evaluation: Mapping[str, Any] | None = None,
    registered: Mapping[str, Any] | None = None,
) -> str:
    """The card of a model folder, from its ``textcls.json`` metadata.

    ``evaluation`` (split, accuracy, macro_f1, accuracy_ci95, ...) and ``registered`` (pipeline,
    version, variant, decision reason) are given for a registered version only.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    model_ref = meta.get("model") or {}
    tokenizer_ref = meta.get("tokenizer") or {}
    title = f"{meta.get('pipeline', 'textcls')} {meta.get('role', 'model')}"
    base_model = (model_ref.get("params") or {}).get("pretrained") or None
    results = []
    if evaluation:
        split = str(evaluation.get("split", "test"))
        results = [
            EvalResult(
                task_type="text-classification",
                dataset_type="textcls",
                dataset_name=str(meta.get("pipeline", "textcls")),
                dataset_split=split,
                metric_type=metric,
                metric_value=float(evaluation[metric]),
            )
            for metric in ("accuracy", "macro_f1")
            if evaluation.get(metric) is not None
        ]
    data = ModelCardData(
        library_name="textcls",
        pipeline_tag="text-classification",
        license=meta.get("license", "other"),
        base_model=base_model,
        tags=["textcls", "text-classification", *filter(None, [model_ref.get("name")])],
        model_name=title if results else None,
        eval_results=results or None,
        textcls={
            "version": meta.get("textcls_version", __version__),
            "labels": list(meta.get("labels", [])),
            "data_sha256": meta.get("data_sha256"),
            "model": model_ref.get("name"),
            "tokenizer": tokenizer_ref.get("name"),
            **({"registered": dict(registered)} if registered else {}),
        },
    )
    body = _body(title, meta, parameters, evaluation, registered)
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{body}").content)


def write_model_card(folder: Path, meta: Mapping[str, Any], **details: Any) -> None:
    """Write ``folder/README.md`` (to a temporary name first, then renamed into place)."""
    tmp = folder / f".{CARD_FILE}.tmp"
    tmp.write_text(render_model_card(meta, **details), encoding="utf-8")
    tmp.replace(folder / CARD_FILE)


def _restarts(metrics: Mapping[str, Any]) -> list[str]:
    """The table of a job's restarts (``train.restarts``), the kept run marked."""
    runs = metrics.get("restarts")
    if not isinstance(runs, list) or not runs:
        return []
    chosen = metrics.get("chosen_restart")
    lines = [
        f"## Restarts ({len(runs)} runs, the best by {metrics.get('chosen_by')} kept)",
        "",
        "| run | seed | validation accuracy | macro-F1 | loss | kept |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for k, run in enumerate(runs):
        shown = " | ".join(
            f"{v:.4f}" if isinstance(v, float) else "-"
            for v in (run.get(f"validation_{key}") for key in ("accuracy", "macro_f1", "loss"))
        )
        lines.append(f"| {k} | {run.get('seed')} | {shown} | {'yes' if k == chosen else ''} |")
    return [*lines, ""]


def _body(
    title: str,
    meta: Mapping[str, Any],
    parameters: int | None,
    evaluation: Mapping[str, Any] | None,
    registered: Mapping[str, Any] | None,
) -> str:
    model_ref = meta.get("model") or {}
    tokenizer_ref = meta.get("tokenizer") or {}
    version = meta.get("textcls_version", __version__)

    def described(ref: Mapping[str, Any]) -> str:
        return f"`{ref.get('name')}` {json.dumps(ref.get('params', {}))}"

    lines = [
        f"# {title}",
        "",
        f"A `{model_ref.get('name')}` text classifier trained by textcls {version}.",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | {described(model_ref)} |",
        f"| tokenizer | {described(tokenizer_ref)} |",
        f"| labels | {', '.join(meta.get('labels', []))} |",
    ]
    if parameters is not None:
        lines.append(f"| parameters | {parameters:,} |")
    if meta.get("data_sha256"):
        lines.append(f"| data fingerprint | `{str(meta['data_sha256'])[:16]}` |")
    if meta.get("init_from"):
        lines.append(f"| initialised from | `{meta['init_from']}` |")
    precision = (meta.get("onnx") or {}).get("precision")
    if precision:
        lines.append(f"| ONNX precision | {precision} |")
    lines.append("")
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["## Training metrics (validation)", "", "| metric | value |", "|---|---|"]
        lines += [
            f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
            for k, v in sorted(metrics.items())
            if k != "restarts"
        ]
        lines.append("")
        lines += _restarts(metrics)
    if registered:
        lines += [
            "## Registry",
            "",
            f"Version {registered.get('version')} of `{registered.get('pipeline')}` "
            f"(variant `{registered.get('variant')}`): {registered.get('reason', '')}",
            "",
        ]
    if evaluation:
        low, high = evaluation.get("accuracy_ci95") or (float("nan"), float("nan"))
        lines += [
            "## Evaluation",
            "",
            f"On the {evaluation.get('split', 'test')} split of the run that registered it:",
            "",
            "| metric | value |",
            "|---|---|",
            f"| accuracy | {evaluation['accuracy']:.4f} (95% CI {low:.3f} to {high:.3f}) |",
            f"| macro-F1 | {evaluation['macro_f1']:.4f} |",
        ]
        cost = evaluation.get("cost") or {}
        if cost.get("throughput"):
            lines += [
                f"| latency, batch 1 (p50 / p95) | {cost['latency_b1_p50_ms']:.1f} / "
                f"{cost['latency_b1_p95_ms']:.1f} ms |",
                f"| throughput, batch 32 | {cost['throughput']:.0f} examples/s |",
            ]
        lines.append("")
    lines += [
        "## Use",
        "",
        "```python",
        "from textcls.predictor import Predictor",
        "predictor = Predictor.load('path/to/this/folder')",
        "predictor.predict(['some text'])",
        "```",
    ]
    return "\n".join(lines) + "\n"
