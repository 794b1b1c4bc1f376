"""Docs stay true: every hookspec is documented with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from textcls import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("textcls_"))


def signature_of(name: str) -> str:
    function = getattr(hookspecs, name)
    annotations = function.__annotations__
    params = ", ".join(f"{p}: {annotations[p]}" for p in inspect.signature(function).parameters)
    return f"{name}({params}) -> {annotations['return']}"


def test_there_are_hooks():
    assert len(HOOKS) == 9


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_exact_signature(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### `{signature_of(hook)}`" in docs


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_has_a_docstring(hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip()
