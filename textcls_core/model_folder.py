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


def remote_code_refused(folder: Path) -> DataError:
    """The error for a folder whose config or tokenizer asks to run code it ships (auto_map)."""
    return DataError(
        f"{folder}: its config.json or tokenizer_config.json asks to run code shipped in the "
        "folder (auto_map); textcls never runs a model folder's own code. Use a folder that "
        "textcls wrote, or remove auto_map if the architecture is one transformers ships"
    )


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

        # never code from the folder (auto_map), and never a prompt asking
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder), use_safetensors=True, trust_remote_code=False
        )
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    except Exception as exc:  # safetensors, torch and transformers each raise their own types
        if "trust_remote_code" in str(exc):
            raise remote_code_refused(folder) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{folder}: cannot load the model (truncated or foreign weights file?): {first}"
        ) from None
    model.eval()
    return LoadedModel(model, tokenizer, meta, folder)


def read_model_config(folder: Path) -> dict[str, Any] | None:
    """A model folder's ``config.json`` as a mapping; None when missing, unreadable or not one.

    For checks that only add a clearer message: loading the model reports a bad config itself.
    """
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _check_architecture_known(folder: Path, component: Component) -> None:
    """Say so when config.json names an architecture no loaded plugin registered."""
    from textcls.contracts import is_registered_model_type

    config = read_model_config(folder)
    if config is None:
        return  # transformers reports the unreadable config below
    model_type = config.get("model_type")
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
