"""The one plugin manager: loads built-in and third-party plugins, builds the registries.

Built-in plugins are declared in textcls's own ``pyproject.toml`` under the ``textcls``
entry-point group, exactly as a third party declares theirs, and are loaded by the same code.

- ``TEXTCLS_PLUGINS=name1,name2`` limits which third-party plugins load (by entry-point or
  distribution name); textcls's built-ins always load. An empty value loads no third-party plugin.
- ``TEXTCLS_BUILTIN_PLUGINS_ONLY=1`` loads only the built-ins; the test suite sets it so that
  plugins installed on the machine never leak into tests.
- A plugin that fails to import is recorded in ``load_failures`` (by distribution and entry-point
  name) and reported; the others still load.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel
from textcls import hookspecs
from textcls.components import (
    KIND_HOOKS,
    KINDS,
    Component,
    ComponentRegistry,
    NoParams,
)
from textcls.errors import PluginError

ENTRY_POINT_GROUP = "textcls"
BUILTIN_DISTRIBUTION = "textcls"
#: The built-in plugin modules. pyproject.toml declares the same list as entry points; this tuple
#: is used only when textcls runs from a source tree that was never installed.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("builtin-sources", "textcls.plugins.sources"),
    ("builtin-tokenizers", "textcls.plugins.tokenizers"),
    ("builtin-models", "textcls.plugins.models"),
    ("builtin-distillers", "textcls.plugins.distillers"),
    ("builtin-quantizers", "textcls.plugins.quantizers"),
    ("builtin-resolver-local", "textcls.plugins.resolvers:local_folders"),
    ("builtin-resolver-packaged", "textcls.plugins.resolvers:packaged_models"),
    ("builtin-resolver-hub-cache", "textcls.plugins.resolvers:hub_cache"),
)
ONLY_BUILTINS_ENV = "TEXTCLS_BUILTIN_PLUGINS_ONLY"
SELECT_ENV = "TEXTCLS_PLUGINS"


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not be imported."""

    distribution: str
    entry_point: str
    error: str

    def __str__(self) -> str:
        return (
            f"plugin {self.entry_point!r} from distribution {self.distribution!r} failed to "
            f"load: {self.error}"
        )


@dataclass
class PluginInfo:
    """What ``textcls plugins list`` shows about one loaded plugin."""

    name: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    components: dict[str, list[str]] = field(default_factory=dict)


class PluginHost:
    """A pluggy PluginManager plus the typed component registries built from it."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.load_failures: list[LoadFailure] = []
        self._origins: dict[str, tuple[str, str, bool]] = {}
        self._registries: dict[str, ComponentRegistry] | None = None
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------
    def load_entry_points(
        self,
        *,
        only_builtins: bool | None = None,
        select: Iterable[str] | None = None,
    ) -> None:
        """Load plugins from the ``textcls`` entry-point group.

        ``only_builtins`` and ``select`` default to the environment variables described in the
        module docstring.
        """
        if only_builtins is None:
            only_builtins = os.environ.get(ONLY_BUILTINS_ENV, "") not in ("", "0", "false")
        if select is None and SELECT_ENV in os.environ:
            select = [s.strip() for s in os.environ[SELECT_ENV].split(",") if s.strip()]
        selected = set(select) if select is not None else None

        found_builtin = False
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_name = ep.dist.name if ep.dist is not None else "unknown"
            builtin = _normalise(dist_name) == BUILTIN_DISTRIBUTION
            found_builtin = found_builtin or builtin
            if not builtin:
                if only_builtins:
                    continue
                if selected is not None and not ({ep.name, dist_name} & selected):
                    continue
            version = ep.dist.version if ep.dist is not None else "unknown"
            self._load_one(ep.name, ep.value, ep.load, dist_name, version, builtin)
        if not found_builtin:
            for name, module in DEFAULT_PLUGINS:
                self._load_one(
                    name,
                    module,
                    functools.partial(_load_target, module),
                    BUILTIN_DISTRIBUTION,
                    _own_version(),
                    True,
                )

    def _load_one(
        self,
        name: str,
        target: str,
        load: Callable[[], Any],
        distribution: str,
        version: str,
        builtin: bool,
    ) -> None:
        if self.pm.has_plugin(name):
            return
        try:
            plugin = load()
        except Exception as exc:  # a broken plugin must not stop the others
            self.load_failures.append(
                LoadFailure(distribution, name, f"{type(exc).__name__}: {exc} (loading {target})")
            )
            return
        self.register(
            plugin, name=name, distribution=distribution, version=version, builtin=builtin
        )

    def register(
        self,
        plugin: Any,
        *,
        name: str | None = None,
        distribution: str = "local",
        version: str = "",
        builtin: bool = False,
    ) -> str:
        """Register a plugin object (a module or class instance with hookimpls)."""
        try:
            plugin_name = self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"cannot register plugin {name!r}: {exc}") from exc
        assert plugin_name is not None
        self._origins[plugin_name] = (distribution, version, builtin)
        self._registries = None
        return plugin_name

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (used by tests' fixtures)."""
        self.pm.unregister(name=name)
        self._origins.pop(name, None)
        self._registries = None

    # -- registries -------------------------------------------------------------------------
    @property
    def registries(self) -> dict[str, ComponentRegistry]:
        with self._lock:
            if self._registries is None:
                self._registries = self._build_registries()
            return self._registries

    def _build_registries(self) -> dict[str, ComponentRegistry]:
        registries = {kind: ComponentRegistry(kind) for kind in KINDS}
        for kind, hook_name in KIND_HOOKS.items():
            hook = getattr(self.pm.hook, hook_name)
            # Call each implementation ourselves so every component knows its plugin.
            for impl in reversed(hook.get_hookimpls()):
                register = _make_register(registries[kind], kind, impl.plugin_name)
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
        return registries

    def registry(self, kind: str) -> ComponentRegistry:
        """The registry of one component kind (``model``, ``tokenizer``, ...)."""
        try:
            return self.registries[kind]
        except KeyError:
            raise PluginError(
                f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}"
            ) from None

    def component(self, kind: str, name: str) -> Component:
        """Look up one component; unknown names raise an error listing the choices."""
        return self.registry(kind).get(name)

    def find_components(self, name: str) -> list[Component]:
        """Every component of any kind called ``name``."""
        return [reg.get(name) for reg in self.registries.values() if name in reg]

    # -- other hooks ------------------------------------------------------------------------
    def resolve_pretrained(self, name: str) -> str | None:
        """Ask the resolvers for a local folder for ``name`` (first answer wins)."""
        result = self.pm.hook.textcls_resolve_pretrained(name=name)
        return str(result) if result is not None else None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- introspection ----------------------------------------------------------------------
    def plugin_infos(self) -> list[PluginInfo]:
        """Name, distribution, version, hooks and components of every loaded plugin."""
        infos: dict[str, PluginInfo] = {}
        for plugin_name, plugin in self.pm.list_name_plugin():
            distribution, version, builtin = self._origins.get(plugin_name, ("local", "", False))
            hooks = sorted(caller.name for caller in (self.pm.get_hookcallers(plugin) or []))
            infos[plugin_name] = PluginInfo(plugin_name, distribution, version, builtin, hooks)
        for kind, registry in self.registries.items():
            for component in registry:
                info = infos.get(component.plugin)
                if info is not None:
                    info.components.setdefault(kind, []).append(component.name)
        return sorted(infos.values(), key=lambda i: (not i.builtin, i.name))


def _make_register(registry: ComponentRegistry, kind: str, plugin_name: str) -> Callable[..., None]:
    def register(
        name: str,
        factory: Callable[..., Any],
        *,
        params: type[BaseModel] = NoParams,
        description: str = "",
        **metadata: Any,
    ) -> None:
        if not (isinstance(params, type) and issubclass(params, BaseModel)):
            raise PluginError(
                f"plugin {plugin_name!r} registered {kind} {name!r} with params={params!r}; "
                "params must be a pydantic BaseModel subclass"
            )
        if not description:
            doc = (factory.__doc__ or "").strip()
            description = doc.splitlines()[0] if doc else ""
        registry.add(Component(kind, name, factory, params, description, plugin_name, metadata))

    return register


def _load_target(target: str) -> Any:
    """Import ``module`` or ``module:attribute``, as an entry point's value names it."""
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


def _normalise(dist_name: str) -> str:
    return dist_name.lower().replace("_", "-")


def _own_version() -> str:
    try:
        return importlib.metadata.version(BUILTIN_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_plugins() -> PluginHost:
    """The process-wide plugin host, loaded on first use (idempotent)."""
    global _host
    with _host_lock:
        if _host is None:
            host = PluginHost()
            host.load_entry_points()
            _host = host
        return _host


def reset_plugins() -> None:
    """Forget the loaded plugins, so the next ``get_plugins()`` loads afresh."""
    global _host
    with _host_lock:
        _host = None
