"""`textcls predict` and `textcls evaluate`: use and score trained model folders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
    model_dir: Annotated[Path, typer.Argument(help="A model folder (PyTorch or ONNX)")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Text file, CSV or JSONL of inputs")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column or key holding the text")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from --output)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads")] = None,
) -> None:
    """Classify texts with a trained or exported model; JSONL or CSV with probabilities."""
    from rich.progress import Progress
    from textcls.flows.predict_io import read_texts, render, write_atomic
    from textcls.predictor import Predictor

    chosen = fmt or ("csv" if output is not None and output.suffix.lower() == ".csv" else "jsonl")
    if chosen not in ("jsonl", "csv"):
        raise typer.BadParameter(f"--format must be jsonl or csv, not {chosen!r}")
    inputs = read_texts(file, text_column, texts or [])
    predictor = Predictor.load(model_dir, threads=threads)
    with Progress(console=err, transient=True, disable=file is None) as progress:
        task = progress.add_task("predicting", total=len(inputs))
        logits = predictor.logits(inputs, batch_size, progress=lambda n: progress.advance(task, n))
    predictions = predictor.predictions_from_logits(logits)
    content = render(inputs, predictions, predictor.labels, chosen)
    if output is None:
        sys.stdout.write(content)
    else:
        write_atomic(output, content)
        err.print(f"{len(inputs)} predictions written to {output}")


@reports_errors
def evaluate_command(
    model_dirs: Annotated[list[Path], typer.Argument(help="Model folders to compare")],
    data: Annotated[
        Path, typer.Option("--data", help="Pipeline YAML, ingested data folder, or a labelled file")
    ],
    split: Annotated[str, typer.Option(help="Split to score (test, validation)")] = "test",
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder")] = Path("eval"),
    baseline: Annotated[
        list[str] | None, typer.Option("--baseline", help="Also train and score a baseline")
    ] = None,
    cost: Annotated[bool, typer.Option(help="Measure latency, throughput, memory")] = True,
    as_json: JsonOption = False,
) -> None:
    """Score existing models side by side without retraining; writes report.md and plots."""
    from textcls.flows.evaluate_data import resolve_data
    from textcls.model_folder import read_meta
    from textcls.stages.evaluate import evaluate

    warn_load_failures()
    model_labels = read_meta(model_dirs[0]).get("labels", [])
    data_dir, pipeline = resolve_data(data, output, model_labels)
    names = _variant_names(model_dirs)
    ref = evaluate(
        data_dir,
        dict(zip(names, model_dirs, strict=True)),
        output / "report",
        pipeline=pipeline,
        split=split,
        baselines=baseline or [],
        measure_cost=cost,
    )
    if as_json:
        report = read_eval_report(ref.path)
        print_json({"report_folder": ref.path, **report})
        return
    out.print((Path(ref.path) / EVAL_REPORT_MD).read_text(encoding="utf-8"))
    out.print(f"report: {Path(ref.path) / EVAL_REPORT_MD}")


def _variant_names(folders: list[Path]) -> list[str]:
    names: list[str] = []
    for folder in folders:
        name, n = folder.name, 2
        while name in names:
            name, n = f"{folder.name}-{n}", n + 1
        names.append(name)
    return names
