"""`textcls predict` and `textcls evaluate`: use and score trained model folders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from textcls.artifact_files import EVAL_REPORT_MD, read_eval_report
from textcls.flows.cli.console import (
    JsonOption,
    err,
    out,
    print_json,
    reports_errors,
    warn_load_failures,
)


@reports_errors
def predict_command(
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="A model folder (PyTorch or ONNX), or PIPELINE_FILE@champion / PIPELINE_FILE@v3"
        ),
    ],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Text file, CSV or JSONL of inputs")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column or key holding the text")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from --output)")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Texts per model call (default: the model's own, see docs/predict.md)"
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Inference threads (default: every core)")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of --file or stdin")] = "utf-8",
) -> None:
    """Classify texts with a trained or exported model; JSONL or CSV with probabilities."""
    from rich.progress import Progress
    from textcls.flows.predict_io import check_output, read_texts, render, write_atomic
    from textcls.model_reference import resolve_model
    from textcls.predictor import Predictor

    chosen = fmt or ("csv" if output is not None and output.suffix.lower() == ".csv" else "jsonl")
    if chosen not in ("jsonl", "csv"):
        raise typer.BadParameter(f"--format must be jsonl or csv, not {chosen!r}")
    if output is not None:
        check_output(output)
    inputs = read_texts(file, text_column, texts or [], encoding)
    predictor = Predictor.load(resolve_model(model_dir).path, threads=threads, workers=None)
    with Progress(console=err, transient=True, disable=file is None) as progress:
        task = progress.add_task("predicting", total=len(inputs))
        logits = predictor.logits(inputs, batch_size, progress=lambda n: progress.advance(task, n))
    content = render(inputs, predictor.probabilities_from_logits(logits), predictor.labels, chosen)
    if output is None:
        sys.stdout.write(content)
    else:
        write_atomic(output, content)
        err.print(f"{len(inputs)} predictions written to {output}")


@reports_errors
def evaluate_command(
    model_dirs: Annotated[
        list[Path],
        typer.Argument(help="Model folders or PIPELINE_FILE@champion / @v3 references to compare"),
    ],
    data: Annotated[
        Path, typer.Option("--data", help="Pipeline YAML, ingested data folder, or a labelled file")
    ],
    split: Annotated[str, typer.Option(help="Split to score (test, validation)")] = "test",
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder")] = Path("eval"),
    baseline: Annotated[
        list[str] | None, typer.Option("--baseline", help="Also train and score a baseline")
    ] = None,
    cost: Annotated[bool, typer.Option(help="Measure latency, throughput, memory")] = True,
    explain: Annotated[
        bool, typer.Option(help="Explain mistakes and disagreements in the report")
    ] = True,
    train: Annotated[
        Path | None,
        typer.Option("--train", help="Labelled file the baselines train on (with --data FILE)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score existing models side by side without retraining; writes report.md and plots.

    A pipeline or data folder: the best variant is chosen on validation, SPLIT is reported.
    One labelled file: that file is scored and reported, nothing trains on it; baselines
    train on --train FILE (skipped with a note without it).
    """
    from textcls.flows.evaluate_data import resolve_data
    from textcls.model_folder import read_meta
    from textcls.model_reference import resolve_model
    from textcls.stages.evaluate import evaluate

    warn_load_failures()
    resolved = [resolve_model(reference) for reference in model_dirs]
    folders = [model.path for model in resolved]
    model_labels = read_meta(folders[0]).get("labels", [])
    resolved_data = resolve_data(data, output, model_labels, train)
    names = _variant_names([_display_name(model) for model in resolved])
    ref = evaluate(
        resolved_data.folder,
        dict(zip(names, folders, strict=True)),
        output / "report",
        pipeline=resolved_data.name,
        split=split,
        baselines=baseline or [],
        measure_cost=cost,
        explanations=explain,
        selection_split=resolved_data.selection_split,
        baseline_split=resolved_data.baseline_split,
    )
    if as_json:
        report = read_eval_report(ref.path)
        print_json({"report_folder": ref.path, **report})
        return
    out.print((Path(ref.path) / EVAL_REPORT_MD).read_text(encoding="utf-8"))
    out.print(f"report: {Path(ref.path) / EVAL_REPORT_MD}")


def _display_name(model: Any) -> str:
    """A registry version reads as ``<pipeline>-v<n>``, a folder by its own name."""
    if model.version is not None:
        return f"{model.pipeline}-v{model.version}"
    return str(model.path.name)


def _variant_names(bases: list[str]) -> list[str]:
    names: list[str] = []
    for base in bases:
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names
