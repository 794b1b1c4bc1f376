"""Model folders: what every training stage writes and every later stage reads.

A model folder is a Hugging Face model directory plus two textcls files::

    config.json, model.safetensors    the model (weights as safetensors only)
    tokenizer.json, ...               its PreTrainedTokenizerFast
    textcls.json                      model and tokenizer plugin names and params, labels,
                                      data fingerprint, training config, metrics
    README.md                         its model card (``model_card.py``)

``load_model_folder(path)`` loads one back by path alone: the model component named in
``textcls.json`` knows how to load its architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textcls.errors import DataError
from textcls.model_card import write_model_card
from textcls.version import __version__

if TYPE_CHECKING:
    from textcls.components import Component
    from textcls.plugin_manager import PluginHost

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
    write_model_card(folder, meta, parameters=count_parameters(model))


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
    try:
        meta: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: unreadable ({exc.msg} at line {exc.lineno})") from None
    return meta


def load_model_folder(folder: str | Path, *, plugins: PluginHost | None = None) -> LoadedModel:
    """Load a model folder by path: the model, its tokenizer and its metadata."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    meta = read_meta(folder)
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    component = plugins.component("model", meta["model"]["name"])
    if not (folder / "model.safetensors").is_file():
        raise DataError(
            f"{folder}: no model.safetensors; textcls loads weights from safetensors only"
        )
    component.ensure_architecture()
    _check_architecture_known(folder, component)
    try:
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


def _check_architecture_known(folder: Path, component: Component) -> None:
    """Say so when config.json names an architecture no loaded plugin registered."""
    from textcls.contracts import is_registered_model_type

    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return  # transformers reports the unreadable config below
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type and "auto_map" not in config and not is_registered_model_type(model_type):
        raise DataError(
            f"{folder}: config.json has model_type {model_type!r}, an architecture that is not "
            f"registered: model component {component.name!r} of plugin {component.plugin!r} "
            "declares no architecture for it. The plugin should register its model class "
            "(capabilities=ModelCapabilities(architecture=TheModelClass), or pass a "
            "TextclsModel subclass as the factory); see docs/plugins.md"
        )


def count_parameters(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))
