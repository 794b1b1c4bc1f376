"""Components and their registries.

A *component* is what a plugin registers: a data source, tokenizer, model architecture,
distiller, quantizer or explainer. Each has a name, a factory, a pydantic params model, a one-line
description and typed capabilities (``textcls.contracts``), so a pipeline file's ``params`` are
validated before anything runs and ``textcls plugins show NAME`` can print them. (Trained model
versions live in the *model registry*, a different thing.)

Two plugins may register components with the same name: both are kept, listed as a clash, and a
pipeline file picks one as ``PLUGIN:NAME`` (plugin or distribution name). An unqualified
reference to a clashing name is an error that names both providers.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from textcls import auto_classes
from textcls.contracts import (
    KIND_HOOKS,
    KINDS,
    Capabilities,
    ModelCapabilities,
    NoParams,
    architecture_class,
    call_declared,
    check_product,
    register_architecture,
)
from textcls.errors import PluginError, UnknownComponentError

__all__ = [
    "KINDS",
    "KIND_HOOKS",
    "Component",
    "ComponentRegistry",
    "NoParams",
]

_architecture_lock = threading.Lock()
C = TypeVar("C", bound=Capabilities)


@dataclass(frozen=True)
class Component:
    """One registered component: what a pipeline file refers to by ``name``."""

    kind: str
    name: str
    factory: Callable[..., Any]
    params: type[BaseModel]
    description: str
    plugin: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    distribution: str = "local"

    def capabilities_as(self, expected: type[C]) -> C:
        """The capabilities, typed as the kind's class (e.g. ``ModelCapabilities``)."""
        if not isinstance(self.capabilities, expected):
            raise PluginError(
                f"{self.kind} {self.name!r} (plugin {self.plugin!r}) has no "
                f"{expected.__name__}; it is a {self.kind.replace('_', ' ')}"
            )
        return self.capabilities

    @property
    def qualified_name(self) -> str:
        """``plugin:name``: how a pipeline file names this provider when two clash."""
        return f"{self.plugin}:{self.name}"

    def validate_params(self, params: Mapping[str, Any] | BaseModel | None) -> BaseModel:
        """Validate raw params (a dict from YAML) against this component's params model."""
        if isinstance(params, self.params):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump()
        return self.params.model_validate(dict(params or {}))

    def create(self, params: Mapping[str, Any] | BaseModel | None = None, **context: Any) -> Any:
        """Validate ``params``, call the factory and check what it returns.

        The factory gets the params and only the keyword arguments (``context``) it declares.
        """
        self.ensure_architecture()
        product = call_declared(self.factory, self.validate_params(params), **context)
        return check_product(self.kind, self.plugin, self.name, product)

    def ensure_architecture(self) -> None:
        """Register a model component's declared architecture with transformers (idempotent)."""
        caps = self.capabilities
        if not isinstance(caps, ModelCapabilities) or caps.architecture is None:
            return
        where = f"plugin {self.plugin!r}: model {self.name!r}"
        with _architecture_lock, auto_classes.registering():
            register_architecture(architecture_class(where, caps.architecture))


def unknown_name_message(what: str, name: str, available: list[str]) -> str:
    """``unknown <what> 'name'.``, the closest match if one is close, and every choice."""
    message = f"unknown {what} {name!r}."
    close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
    if close:
        message += f" Did you mean {close[0]!r}?"
    listing = ", ".join(available) if available else "none (is a plugin missing?)"
    return f"{message} Available: {listing}."


class ComponentRegistry:
    """The components of one kind, by name; clashing names keep every provider."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._components: dict[str, list[Component]] = {}

    def add(self, component: Component) -> None:
        """Add a component; a second provider of the same name is kept as a clash."""
        providers = self._components.setdefault(component.name, [])
        providers[:] = [c for c in providers if c.plugin != component.plugin] + [component]

    def get(self, name: str) -> Component:
        """The component called ``name`` (or ``plugin:name``); errors list the choices."""
        plugin, sep, bare = name.partition(":")
        if not sep:
            plugin, bare = "", name
        providers = self._components.get(bare)
        if not providers:
            raise UnknownComponentError(self.unknown_message(bare))
        if plugin:
            for component in providers:
                if plugin in (component.plugin, component.distribution):
                    return component
            raise UnknownComponentError(
                f"no plugin {plugin!r} provides a {self.kind.replace('_', ' ')} named "
                f"{bare!r}; providers: {', '.join(c.qualified_name for c in providers)}"
            )
        if len(providers) > 1:
            raise PluginError(self.clash_message(bare))
        return providers[0]

    def clash_message(self, name: str) -> str:
        """Say that two plugins register ``name`` and how a pipeline picks one."""
        providers = self._components.get(name, [])
        plugins = " and ".join(repr(c.plugin) for c in providers)
        choices = " or ".join(repr(c.qualified_name) for c in providers)
        return (
            f"two plugins register a {self.kind} named {name!r}: {plugins}. Say which one "
            f"you mean in the pipeline file (name: {choices}), uninstall one of them, or "
            "limit which plugins load with TEXTCLS_PLUGINS=name1,name2."
        )

    def clashes(self) -> dict[str, list[str]]:
        """Every name two or more plugins register, with the plugins that do."""
        return {
            name: [c.plugin for c in providers]
            for name, providers in sorted(self._components.items())
            if len(providers) > 1
        }

    def unknown_message(self, name: str) -> str:
        """Say that ``name`` is unknown, list what is available and suggest the closest."""
        return unknown_name_message(self.kind.replace("_", " "), name, self.names())

    def names(self) -> list[str]:
        return sorted(self._components)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except UnknownComponentError:
            return False
        except PluginError:
            return True  # a clash: the name exists, twice
        return True

    def __iter__(self) -> Iterator[Component]:
        """Every component, clashing providers included, by name then plugin."""
        return iter(
            sorted(
                (c for providers in self._components.values() for c in providers),
                key=lambda c: (c.name, c.plugin),
            )
        )

    def __len__(self) -> int:
        return sum(len(p) for p in self._components.values())
