"""`textcls explain`: which words a trained model relied on, as coloured text, JSON or HTML."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from textcls.flows.cli.console import out, reports_errors

FORMATS = ("text", "json", "html")


@reports_errors
def explain_command(
    model: Annotated[
        Path,
        typer.Argument(
            help="A model folder (PyTorch or ONNX), or PIPELINE_FILE@champion / PIPELINE_FILE@v3"
        ),
    ],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to explain")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Text file, CSV or JSONL of inputs")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column or key holding the text")] = "text",
    method: Annotated[
        str | None,
        typer.Option(
            help="Explainer (textcls plugins list); default integrated-gradients for PyTorch "
            "folders, occlusion for ONNX"
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Explain this label instead of the predicted one")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="text, json or html (default: from --output, else text)"),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here")] = None,
    params: Annotated[
        str | None,
        typer.Option(
            "--params",
            help="The method's params as a JSON object, e.g. '{\"n_steps\": 64}' "
            "(textcls plugins show METHOD)",
        ),
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads")] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of --file or stdin")] = "utf-8",
) -> None:
    """Explain predictions: a score per word toward the predicted (or --target) label."""
    from textcls.explanation.explain import explain_texts
    from textcls.explanation.render import as_json, as_rich_text, html_page
    from textcls.explanation.subject import ExplainSubject
    from textcls.flows.predict_io import check_output, read_texts, write_atomic
    from textcls.model_reference import resolve_model

    chosen = fmt or _format_from(output)
    if chosen not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, not {chosen!r}")
    if output is not None:
        check_output(output, example=f"explanations.{'txt' if chosen == 'text' else chosen}")
    method_params = _parse_params(params)
    inputs = read_texts(file, text_column, texts or [], encoding)
    resolved = resolve_model(model)
    subject = ExplainSubject(resolved.path, threads=threads)
    explanations = explain_texts(
        subject, inputs, method=method, target=target, params=method_params
    )
    if chosen == "json":
        content = as_json(explanations)
    elif chosen == "html":
        name = Path(resolved.path).name
        content = html_page(
            f"Why {name} decided",
            [(_short(e.text), [(name, e)]) for e in explanations],
            intro=f"Model folder {resolved.path} ({subject.kind}); method "
            f"{explanations[0].method}.",
        )
    elif output is not None:
        content = "\n".join(as_rich_text(e).plain for e in explanations)
    else:
        for explanation in explanations:
            out.print(as_rich_text(explanation))
        return
    if output is None:
        sys.stdout.write(content)
    else:
        write_atomic(output, content)
        out.print(f"{len(explanations)} explanations written to {output}", markup=False)


def _parse_params(text: str | None) -> dict[str, Any] | None:
    """``--params`` as a dict; malformed JSON or a non-object is a usage error (exit 2)."""
    if text is None:
        return None
    from textcls.errors import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--params: not valid JSON ({exc.msg} at column {exc.colno}): {text!r}; "
            "give an object, e.g. --params '{\"n_steps\": 64}'"
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"--params: give a JSON object, e.g. '{{\"n_steps\": 64}}', not {text!r}")
    return value


def _format_from(output: Path | None) -> str:
    suffix = output.suffix.lower() if output is not None else ""
    return {".html": "html", ".htm": "html", ".json": "json"}.get(suffix, "text")


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
