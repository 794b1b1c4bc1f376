"""Model folders: what every training stage writes and every later stage reads.

A model folder is a Hugging Face model directory plus two textcls files::

    config.json, model.safetensors    the model (weights as safetensors only)
    tokenizer.json, ...               its PreTrainedTokenizerFast
    textcls.json                      model and tokenizer plugin names and params, labels,
                                      data fingerprint, training config, metrics
    README.md                         a model card a person can read

``load_model_folder(path)`` loads one back by path alone: the model component named in
``textcls.json`` knows how to load its architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textcls.errors import DataError
from textcls.version import __version__

META_FILE = "textcls.json"


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    meta: dict[str, Any]
    path: Path

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", []))


def write_model_folder(folder: Path, model: Any, tokenizer: Any, meta: dict[str, Any]) -> None:
    """Save model, tokenizer, textcls.json and the model card into ``folder``."""
    model.save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    meta = {"textcls_version": __version__, **meta}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    (folder / "README.md").write_text(render_model_card(meta, model))


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The ``textcls.json`` of a model folder, with a clear error when it is not one."""
    folder = Path(folder)
    path = folder / META_FILE
    if not folder.is_dir():
        raise DataError(f"{folder}: model folder not found")
    if not path.is_file():
        raise DataError(
            f"{folder}: not a textcls model folder (no {META_FILE}); give a folder written by "
            "a textcls training stage"
        )
    hint = "re-export the model, or restore textcls.json from the folder textcls wrote"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; {hint}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); {hint}") from None
    if not isinstance(meta, dict):
        raise DataError(
            f"{path}: expected a JSON object with model and labels, found "
            f"{type(meta).__name__}; {hint}"
        )
    model = meta.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise DataError(
            f"{path}: field 'model' must be an object naming the model component "
            f'({{"name": ..., "params": {{...}}}}); {hint}'
        )
    labels = meta.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) for label in labels)
    ):
        raise DataError(
            f"{path}: field 'labels' must list the class names (at least two strings); {hint}"
        )
    return meta


def load_model_folder(folder: str | Path, *, plugins: Any = None) -> LoadedModel:
    """Load a model folder by path: the model, its tokenizer and its metadata."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    meta = read_meta(folder)
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    component = plugins.component("model", meta["model"]["name"])
    loader = component.metadata.get("load")
    if not (folder / "model.safetensors").is_file():
        raise DataError(
            f"{folder}: no model.safetensors; textcls loads weights from safetensors only"
        )
    try:
        if loader is not None:
            model = loader(str(folder))
        else:
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), use_safetensors=True
            )
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # safetensors, torch and transformers each raise their own types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{folder}: cannot load the model (truncated or foreign weights file?): {first}"
        ) from None
    model.eval()
    return LoadedModel(model, tokenizer, meta, folder)


def count_parameters(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def render_model_card(meta: dict[str, Any], model: Any = None) -> str:
    """A short model card: what it is, what it learned from, how it scored, how to use it."""
    model_ref = meta.get("model", {})
    tokenizer_ref = meta.get("tokenizer", {})
    version = meta.get("textcls_version", __version__)

    def described(ref: dict[str, Any]) -> str:
        return f"`{ref.get('name')}` {json.dumps(ref.get('params', {}))}"

    lines = [
        f"# {meta.get('pipeline', 'textcls')} {meta.get('role', 'model')}",
        "",
        f"A `{model_ref.get('name')}` text classifier trained by textcls {version}.",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | {described(model_ref)} |",
        f"| tokenizer | {described(tokenizer_ref)} |",
        f"| labels | {', '.join(meta.get('labels', []))} |",
    ]
    if model is not None:
        lines.append(f"| parameters | {count_parameters(model):,} |")
    if meta.get("data_sha256"):
        lines.append(f"| data fingerprint | `{meta['data_sha256'][:16]}` |")
    if meta.get("init_from"):
        lines.append(f"| initialised from | `{meta['init_from']}` |")
    lines.append("")
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [
            f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
            for k, v in sorted(metrics.items())
        ]
        lines.append("")
    lines += [
        "## Use",
        "",
        "```python",
        "from textcls.model_folder import load_model_folder",
        "loaded = load_model_folder('path/to/this/folder')",
        "```",
    ]
    return "\n".join(lines) + "\n"
