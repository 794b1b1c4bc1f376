"""Model references: a model folder, or a registry version named ``PIPELINE_FILE@champion``.

``textcls predict``, ``textcls evaluate`` and ``textcls serve`` accept the same references, in
the spirit of MLflow's ``models:/name@champion``:

- ``path/to/model``: a model folder (PyTorch or ONNX), used as it is;
- ``pipeline.yaml@champion``: the current champion of the pipeline's registry;
- ``pipeline.yaml@v3`` (or ``@3``): version 3 of that registry;
- ``registry/<pipeline>@champion``: the same, naming the pipeline's registry folder directly.

A path that exists as it is wins, so a folder whose name holds an ``@`` still works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textcls.registry import Registry, RegistryError

CHAMPION = "champion"


@dataclass(frozen=True)
class ResolvedModel:
    """Where a reference points now, and what it is (for responses, logs and /metadata)."""

    reference: str
    path: Path
    pipeline: str | None = None
    version: int | None = None
    variant: str | None = None
    data_fingerprint: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "version": self.version,
            "variant": self.variant,
            "data_fingerprint": self.data_fingerprint,
        }


def split_reference(reference: str | Path) -> tuple[Path, str] | None:
    """``(registry target, selector)`` for ``TARGET@SELECTOR``; None for a plain folder."""
    text = str(reference)
    if Path(text).exists() or "@" not in text:
        return None
    target, _, selector = text.rpartition("@")
    return Path(target), selector


def follows_champion(reference: str | Path) -> bool:
    """True when the reference names a champion, which a promotion or rollback can change."""
    parts = split_reference(reference)
    return parts is not None and parts[1] == CHAMPION


def open_registry(target: str | Path) -> Registry:
    """The registry of a pipeline file (its ``registry`` section) or of a registry folder."""
    from textcls.config import load_config

    target = Path(target)
    if target.is_file():
        config = load_config(target, validate_plugins=False)
        if config.registry is None:
            raise RegistryError(
                f"{target}: the pipeline has no registry section; add `registry: {{}}` or name "
                "a model folder instead"
            )
        return Registry(config.registry.path, config.name, config.registry.lock_timeout_s)
    if (target / "versions").is_dir() or (target / "champion.json").is_file():
        return Registry(target.parent, target.name)
    raise RegistryError(
        f"{target}: neither a pipeline file nor a registry folder (one holding versions/); "
        "give PIPELINE_FILE@champion, PIPELINE_FILE@v3 or a model folder"
    )


def parse_selector(selector: str, reference: str) -> int | None:
    """None for ``champion``, the number for ``v3`` or ``3``; a clear error otherwise."""
    if selector == CHAMPION:
        return None
    digits = selector[1:] if selector[:1] in ("v", "V") else selector
    if digits.isdigit() and int(digits) > 0:
        return int(digits)
    raise RegistryError(
        f"{reference}: {selector!r} after '@' is neither 'champion' nor a version such as v3"
    )


def resolve_model(reference: str | Path) -> ResolvedModel:
    """The model folder a reference points to now, with its registry identity if it has one."""
    text = str(reference)
    parts = split_reference(reference)
    if parts is None:
        return _plain_folder(text)
    target, selector = parts
    number = parse_selector(selector, text)
    registry = open_registry(target)
    if number is None:
        number = registry.champion()
        if number is None:
            raise RegistryError(
                f"{text}: {registry.folder} has no champion yet; register a model first "
                "(textcls run with a registry section) or name a version"
            )
    return resolve_version(registry, number, text)


def resolve_version(registry: Registry, number: int, reference: str) -> ResolvedModel:
    """One registry version as a resolved model."""
    info = registry.version(number)
    folder = Path(info["path"])
    return ResolvedModel(
        reference=reference,
        path=folder / "model",
        pipeline=info.get("pipeline") or registry.pipeline,
        version=number,
        variant=info.get("variant"),
        data_fingerprint=_manifest_fingerprint(folder / "manifest.json")
        or _meta_fingerprint(folder / "model"),
    )


def _plain_folder(text: str) -> ResolvedModel:
    folder = Path(text)
    meta = _quiet_meta(folder)
    return ResolvedModel(
        reference=text,
        path=folder,
        pipeline=meta.get("pipeline"),
        variant=folder.name or None,
        data_fingerprint=meta.get("data_sha256"),
    )


def _manifest_fingerprint(path: Path) -> str | None:
    try:
        value = json.loads(path.read_text()).get("data_fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def _meta_fingerprint(folder: Path) -> str | None:
    value = _quiet_meta(folder).get("data_sha256")
    return str(value) if value else None


def _quiet_meta(folder: Path) -> dict[str, Any]:
    """textcls.json if readable, else nothing: loading the model reports a bad folder clearly."""
    try:
        meta = json.loads((folder / "textcls.json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}
