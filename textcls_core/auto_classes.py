"""``import textcls`` is all transformers needs to load a textcls model folder.

A textcls architecture (the built-in BiLSTM, a third party's model) has a ``model_type`` that
transformers does not ship, so ``AutoConfig``, ``transformers.pipeline(...)`` and Optimum's
``ORTModelForSequenceClassification`` know it only once its plugin has registered it with the
Auto classes, which happens when textcls loads its plugins. Loading them at ``import textcls``
would import torch and every plugin and slow every command down, so instead this module makes
transformers ask: the first time ``AutoConfig`` meets a model type it does not know, textcls
loads its plugins (which registers every installed architecture) and transformers looks again.

transformers offers no public hook for that lookup, so the registry it keeps of registered
model types (``CONFIG_MAPPING._extra_content``, the dict ``AutoConfig.register`` writes to) is
replaced by a dict that loads textcls's plugins on a miss. If a future transformers release
moves that dict, the hook is skipped and nothing else changes: registration through the
plugins still works as before. The hook is installed when transformers' Auto configuration
module is imported (or at once, if it already was), so ``import textcls`` stays fast.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

AUTO_CONFIG_MODULE = "transformers.models.auto.configuration_auto"

log = logging.getLogger("textcls.auto_classes")
_loading = threading.local()
_state = {"loaded": False}


class _ModelTypesThatAskTextcls(dict):  # type: ignore[type-arg]
    """``CONFIG_MAPPING``'s registered model types; a miss loads textcls's plugins once.

    ``shipped`` are the model types transformers itself knows: transformers looks here first
    even for those, and they must never cost a plugin load.
    """

    def __init__(self, registered: dict[Any, Any], shipped: Any) -> None:
        super().__init__(registered)
        self.shipped = shipped

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if isinstance(key, str) and key not in self.shipped and _load_plugins_once():
            return dict.__contains__(self, key)
        return False

    def __getitem__(self, key: Any) -> Any:
        if key not in self:  # __contains__ loads the plugins on a miss
            raise KeyError(key)
        return dict.__getitem__(self, key)


@contextmanager
def registering() -> Iterator[None]:
    """While a plugin registers an architecture, its own lookups must not load the plugins."""
    previous = getattr(_loading, "active", False)
    _loading.active = True
    try:
        yield
    finally:
        _loading.active = previous


def _load_plugins_once() -> bool:
    """Load textcls's plugins and register every model architecture; True if this call did."""
    if getattr(_loading, "active", False) or _state["loaded"]:
        return False
    _loading.active = True
    try:
        from textcls.plugin_manager import get_plugins

        for component in get_plugins().registries["model"]:
            try:
                component.ensure_architecture()  # registers it with the Auto classes
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the rest
                log.warning("model %r of plugin %r: %s", component.name, component.plugin, exc)
        _state["loaded"] = True
        return True
    finally:
        _loading.active = False


def _patch(module: ModuleType) -> None:
    mapping = getattr(module, "CONFIG_MAPPING", None)
    extra = getattr(mapping, "_extra_content", None)
    shipped = getattr(mapping, "_mapping", None)
    if (
        isinstance(extra, dict)
        and shipped is not None
        and not isinstance(extra, _ModelTypesThatAskTextcls)
    ):
        mapping._extra_content = _ModelTypesThatAskTextcls(extra, shipped)  # type: ignore[union-attr]


class _PatchAfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Wraps the loader of transformers' Auto configuration module to patch it once loaded."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != AUTO_CONFIG_MODULE:
            return None
        sys.meta_path.remove(self)  # find the real module, once
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        self._real = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._real.exec_module(module)
        _patch(module)


def install() -> None:
    """Make transformers load textcls's plugins on an unknown model type (idempotent)."""
    loaded = sys.modules.get(AUTO_CONFIG_MODULE)
    if loaded is not None:
        _patch(loaded)
    elif not any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchAfterImport())
