"""The one plugin manager: loads built-in and third-party plugins, builds the registries.

Built-in plugins are declared in textcls's own ``pyproject.toml`` under the ``textcls``
entry-point group, exactly as a third party declares theirs, and are loaded by the same code.

- ``TEXTCLS_PLUGINS=name1,name2`` limits which third-party plugins load (by entry-point or
  distribution name); textcls's built-ins always load. An empty value loads no third-party plugin.
- ``TEXTCLS_BUILTIN_PLUGINS_ONLY=1`` loads only the built-ins; the test suite sets it so that
  plugins installed on the machine never leak into tests.
- A plugin that fails to import, implements a hook that does not exist (or declares an
  argument its hook does not pass), or registers a component that breaks its contract
  (``textcls.contracts``) is disabled and recorded in ``load_failures`` (by distribution and
  entry-point name); the CLI reports it and the others still load.
- Two plugins registering the same component name are both kept; ``plugins list`` shows the
  clash and a pipeline picks one as ``PLUGIN:NAME``.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import inspect
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel
from textcls import auto_classes, hookspecs
from textcls.components import KIND_HOOKS, KINDS, Component, ComponentRegistry
from textcls.contracts import (
    Capabilities,
    ContractError,
    ModelCapabilities,
    NoParams,
    check_registration,
    check_resolved,
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
    ("builtin-explainers", "textcls.plugins.explainers"),
    ("builtin-resolver-local", "textcls.plugins.resolvers:local_folders"),
    ("builtin-resolver-packaged", "textcls.plugins.resolvers:packaged_models"),
    ("builtin-resolver-hub-cache", "textcls.plugins.resolvers:hub_cache"),
    ("builtin-trackers", "textcls.plugins.trackers"),
)
ONLY_BUILTINS_ENV = "TEXTCLS_BUILTIN_PLUGINS_ONLY"
SELECT_ENV = "TEXTCLS_PLUGINS"


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not be loaded: it failed to import, or broke the contract."""

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
    """A pluggy PluginManager plus the typed component registries built from it.

    Every plugin is checked when it registers: its hooks against the hookspecs (a misspelled
    hook, or an argument the hook does not pass, is refused) and each component it registers
    against its kind's contract (``textcls.contracts``). A plugin that fails is disabled and
    recorded in ``load_failures``; the others load.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.load_failures: list[LoadFailure] = []
        self._origins: dict[str, tuple[str, str, bool]] = {}
        self._components: dict[str, list[Component]] = {}
        self._registries: dict[str, ComponentRegistry] | None = None
        self._lock = threading.RLock()

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
    ) -> str | None:
        """Register a plugin object (a module or class instance with hookimpls).

        Returns the plugin's name, or None when it was refused: the reason is appended to
        ``load_failures`` (and the CLI shows it), never raised.
        """
        label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        with self._lock:
            try:
                plugin_name = self.pm.register(plugin, name=name)
            except pluggy.PluginValidationError:
                self._refuse(distribution, label, _bad_hook_message(self.pm, plugin))
                return None
            except ValueError as exc:  # the name or the object is registered already
                self._refuse(distribution, label, str(exc), unregister=False)
                return None
            assert plugin_name is not None
            self._origins[plugin_name] = (distribution, version, builtin)
            try:
                _check_known_hooks(self.pm, plugin)
                self._components[plugin_name] = self._collect(plugin_name, distribution)
            except PluginError as exc:
                self._refuse(distribution, plugin_name, str(exc))
                return None
            self._registries = None
            return plugin_name

    def _refuse(self, distribution: str, name: str, error: str, *, unregister: bool = True) -> None:
        if unregister:  # a name already taken (unregister=False) belongs to another plugin
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            self._origins.pop(name, None)
            self._components.pop(name, None)
        self.load_failures.append(
            LoadFailure(distribution, name, f"{error} (the plugin is disabled)")
        )
        self._registries = None

    def _collect(self, plugin_name: str, distribution: str) -> list[Component]:
        """Call the plugin's registration hooks; every component is checked by its contract."""
        collected: list[Component] = []
        plugin = self.pm.get_plugin(plugin_name)
        for caller in self.pm.get_hookcallers(plugin) or []:
            kind = _HOOK_KINDS.get(caller.name)
            if kind is None:
                continue
            register = _Registrar(kind, plugin_name, distribution, collected)
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"plugin {plugin_name!r} failed in {caller.name}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
        return collected

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (used by tests' fixtures)."""
        with self._lock:
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            self._origins.pop(name, None)
            self._components.pop(name, None)
            self._registries = None

    # -- registries -------------------------------------------------------------------------
    @property
    def registries(self) -> dict[str, ComponentRegistry]:
        with self._lock:
            if self._registries is None:
                registries = {kind: ComponentRegistry(kind) for kind in KINDS}
                for components in self._components.values():
                    for component in components:
                        registries[component.kind].add(component)
                self._registries = registries
            return self._registries

    def registry(self, kind: str) -> ComponentRegistry:
        """The registry of one component kind (``model``, ``tokenizer``, ...)."""
        try:
            return self.registries[kind]
        except KeyError:
            raise PluginError(
                f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}"
            ) from None

    def component(self, kind: str, name: str) -> Component:
        """Look up one component (``name`` or ``plugin:name``); errors list the choices."""
        return self.registry(kind).get(name)

    def find_components(self, name: str) -> list[Component]:
        """Every component of any kind called ``name`` (every provider when names clash)."""
        plugin, sep, bare = name.partition(":")
        if not sep:
            plugin, bare = "", name
        return [
            c
            for registry in self.registries.values()
            for c in registry
            if c.name == bare and (not plugin or plugin in (c.plugin, c.distribution))
        ]

    def clashes(self) -> dict[str, dict[str, list[str]]]:
        """Per kind, every component name that two or more plugins register, with the plugins."""
        return {
            kind: clashes
            for kind, registry in self.registries.items()
            if (clashes := registry.clashes())
        }

    # -- other hooks ------------------------------------------------------------------------
    def resolve_pretrained(self, name: str) -> str | None:
        """Ask the resolvers for a local folder for ``name`` (first answer wins)."""
        caller = self.pm.hook.textcls_resolve_pretrained
        for impl in reversed(caller.get_hookimpls()):
            result = impl.function(*[{"name": name}[a] for a in impl.argnames])
            resolved = check_resolved(impl.plugin_name, result)
            if resolved is not None:
                return resolved
        return None

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


_HOOK_KINDS = {hook: kind for kind, hook in KIND_HOOKS.items()}


class _Registrar:
    """The typed ``register`` callback (``textcls.contracts.Register``) for one plugin and kind."""

    def __init__(self, kind: str, plugin: str, distribution: str, into: list[Component]) -> None:
        self.kind, self.plugin, self.distribution, self.into = kind, plugin, distribution, into

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        params: type[BaseModel] = NoParams,
        description: str = "",
        capabilities: Capabilities | Mapping[str, Any] | None = None,
    ) -> None:
        checked = check_registration(
            self.kind, self.plugin, name, factory, params, description, capabilities
        )
        component = Component(
            self.kind,
            name,
            checked.factory,
            checked.params,
            checked.description,
            self.plugin,
            checked.capabilities,
            self.distribution,
        )
        if any(c.kind == self.kind and c.name == name for c in self.into):
            raise ContractError(f"plugin {self.plugin!r} registers two {self.kind}s named {name!r}")
        if isinstance(checked.capabilities, ModelCapabilities) and isinstance(
            checked.capabilities.architecture, type
        ):
            component.ensure_architecture()  # the Auto classes know it from now on
        self.into.append(component)


def _check_known_hooks(pm: pluggy.PluginManager, plugin: Any) -> None:
    """Refuse hook implementations that match no hookspec (pluggy's ``check_pending``)."""
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            known = [n for n in dir(hookspecs) if n.startswith("textcls_")]
            close = difflib.get_close_matches(caller.name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hooks: {', '.join(known)}"
            raise PluginError(f"{caller.name!r} is not a textcls hook{hint}")


def _bad_hook_message(pm: pluggy.PluginManager, plugin: Any) -> str:
    """Say which hook implementation declares an argument its hook does not pass."""
    for attribute in dir(plugin):
        options = pm.parse_hookimpl_opts(plugin, attribute)
        spec = getattr(hookspecs, attribute, None)
        if options is None or spec is None:
            continue
        function = getattr(plugin, attribute)
        declared = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]
        allowed = list(inspect.signature(spec).parameters)
        unknown = [a for a in declared if a not in allowed]
        if unknown:
            return (
                f"{attribute}({', '.join(declared)}) declares {', '.join(map(repr, unknown))}, "
                f"which the hook does not pass; {attribute} passes ({', '.join(allowed)}), and "
                "an implementation may declare any of those"
            )
    return "a hook implementation does not match its hookspec"


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
            # a plugin that asks transformers about a model type while it is imported must not
            # make auto_classes load the plugins again (this lock is held)
            with auto_classes.registering():
                host.load_entry_points()
            _host = host
        return _host


def reset_plugins() -> None:
    """Forget the loaded plugins, so the next ``get_plugins()`` loads afresh."""
    global _host
    with _host_lock:
        _host = None
