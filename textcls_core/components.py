"""Components and their typed registries.

A *component* is what a plugin registers: a data source, tokenizer, model architecture,
distiller or quantizer. Each has a name, a factory, a pydantic params model and a one-line
description, so a pipeline file's ``params`` are validated before anything runs and
``textcls plugins show NAME`` can print them. (Trained model versions live in the *model
registry*, a different thing.)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict
from textcls.errors import PluginError, UnknownComponentError

#: Component kinds, and the registration hook that fills each.
KIND_HOOKS: dict[str, str] = {
    "data_source": "textcls_register_data_sources",
    "tokenizer": "textcls_register_tokenizers",
    "model": "textcls_register_models",
    "distiller": "textcls_register_distillers",
    "quantizer": "textcls_register_quantizers",
}
KINDS = tuple(KIND_HOOKS)


class NoParams(BaseModel):
    """Params model for components that take no parameters."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Component:
    """One registered component: what a pipeline file refers to by ``name``."""

    kind: str
    name: str
    factory: Callable[..., Any]
    params: type[BaseModel]
    description: str
    plugin: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def validate_params(self, params: Mapping[str, Any] | BaseModel | None) -> BaseModel:
        """Validate raw params (a dict from YAML) against this component's params model."""
        if isinstance(params, self.params):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump()
        return self.params.model_validate(dict(params or {}))

    def create(self, params: Mapping[str, Any] | BaseModel | None = None, **kwargs: Any) -> Any:
        """Validate ``params`` and call the factory with them (plus any keyword arguments)."""
        return self.factory(self.validate_params(params), **kwargs)


class ComponentRegistry:
    """The components of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._components: dict[str, Component] = {}

    def add(self, component: Component) -> None:
        """Add a component; a second one with the same name is an error naming both plugins."""
        existing = self._components.get(component.name)
        if existing is not None:
            raise PluginError(
                f"two plugins register a {self.kind} named {component.name!r}: "
                f"{existing.plugin!r} and {component.plugin!r}. Uninstall one of them, or "
                f"limit which plugins load with TEXTCLS_PLUGINS=name1,name2."
            )
        self._components[component.name] = component

    def get(self, name: str) -> Component:
        """Return the component called ``name``, or raise an error that lists the choices."""
        try:
            return self._components[name]
        except KeyError:
            raise UnknownComponentError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        """Say that ``name`` is unknown, list what is available and suggest the closest."""
        available = sorted(self._components)
        message = f"unknown {self.kind.replace('_', ' ')} {name!r}."
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
        if close:
            message += f" Did you mean {close[0]!r}?"
        listing = ", ".join(available) if available else "none (is a plugin missing?)"
        return f"{message} Available: {listing}."

    def names(self) -> list[str]:
        return sorted(self._components)

    def __contains__(self, name: object) -> bool:
        return name in self._components

    def __iter__(self) -> Iterator[Component]:
        return iter(sorted(self._components.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._components)
