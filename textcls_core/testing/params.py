"""Params to build a component with when the caller gives none.

A params model's defaults are what a check builds with. A field without a usable default
(required, or ``None``) is filled from its first ``Field(examples=[...])`` value, so a plugin
author makes a component checkable by documenting an example, e.g.
``pretrained: str = Field(examples=["sentence-transformers/all-MiniLM-L6-v2"])``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textcls.components import Component


def sample_params(component: Component, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``given`` plus an example value for each field that has no usable default."""
    params = dict(given or {})
    for name, field in component.params.model_fields.items():
        if name in params or field.alias in params:
            continue
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        if default is None and field.examples:
            params[name] = field.examples[0]
    return params
