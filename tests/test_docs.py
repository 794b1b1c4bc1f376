"""Docs stay true: docs/plugins.md is checked against the hookspecs, the contracts, the contexts
and the public API, and its complete model plugin is run for real."""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from pathlib import Path

import pytest
import textcls
import torch
from textcls import contracts, hookspecs, plugin_api
from textcls.data.table import SplitRequest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("textcls_"))
CAPABILITIES = [
    contracts.DataSourceCapabilities,
    contracts.TokenizerCapabilities,
    contracts.ModelCapabilities,
    contracts.DistillerCapabilities,
    contracts.QuantizerCapabilities,
    contracts.TrackerCapabilities,
]


def signature_of(name: str) -> str:
    function = getattr(hookspecs, name)
    annotations = function.__annotations__
    params = ", ".join(f"{p}: {annotations[p]}" for p in inspect.signature(function).parameters)
    return f"{name}({params}) -> {annotations['return']}"


def plain_signature(function, skip_self: bool = False) -> str:
    """A signature as the docs write it: names and defaults, no annotations."""
    params = []
    for p in inspect.signature(function).parameters.values():
        if skip_self and p.name == "self":
            continue
        default = p.default
        if isinstance(default, type) and default is not inspect.Parameter.empty:
            p = p.replace(default=_Named(default.__name__))
        params.append(p.replace(annotation=inspect.Parameter.empty))
    return str(inspect.Signature(params))


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def section(heading: str) -> str:
    """The text under a markdown heading, up to the next heading of the same or higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", DOCS, flags=re.M)
    assert match, f"docs/plugins.md has no heading {heading!r}"
    level = len(match.group(1))
    rest = DOCS[match.end() :]
    following = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: following.start()] if following else rest


def test_there_are_hooks():
    assert len(HOOKS) == 11


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_exact_signature(hook):
    assert f"### `{signature_of(hook)}`" in DOCS


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_has_a_docstring(hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip()


def test_register_is_documented_with_its_exact_signature():
    documented = f"`register{plain_signature(contracts.Register.__call__, skip_self=True)}`"
    assert documented in DOCS


@pytest.mark.parametrize("contract", list(contracts.CONTRACTS.values()), ids=lambda c: c.kind)
def test_every_component_kind_is_in_the_kinds_table(contract):
    table = section("Component kinds")
    row = next(line for line in table.splitlines() if f"`{contract.hook}`" in line)
    assert f"`{contract.capabilities.__name__}`" in row


@pytest.mark.parametrize("capabilities", CAPABILITIES, ids=lambda c: c.__name__)
def test_every_capability_field_is_documented(capabilities):
    text = section(f"`{capabilities.__name__}`")
    documented = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.M))
    assert documented == set(capabilities.model_fields)


@pytest.mark.parametrize(
    "context",
    [plugin_api.ModelContext, plugin_api.TokenizerContext, SplitRequest],
    ids=lambda c: c.__name__,
)
def test_every_context_field_is_documented(context):
    text = section(f"`{context.__name__}`")
    documented = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.M))
    fields = {f.name for f in dataclasses.fields(context)}
    properties = {n for n, v in vars(context).items() if isinstance(v, property)}
    assert documented == fields | properties


def test_the_docs_name_the_resolve_field_not_resolve_pretrained():
    assert "resolve_pretrained`" not in section("`ModelContext`")


@pytest.mark.parametrize("name", sorted(textcls.__all__))
def test_every_public_name_is_documented(name):
    api = section("5. Public API")
    assert f"`{name}`" in api or f"`{name}(" in api


@pytest.mark.parametrize(
    "name",
    sorted(n for n in textcls.__all__ if inspect.isfunction(getattr(textcls, n))),
)
def test_every_public_helper_is_documented_with_its_signature(name):
    assert f"`{name}{plain_signature(getattr(textcls, name))}`" in section("5. Public API")


def test_the_distiller_minimum_is_what_the_protocol_says():
    assert plain_signature(contracts.Distiller.loss, skip_self=True) == "(student, teacher, labels)"
    assert "`loss(student, teacher, labels)` returns a scalar tensor" in DOCS


def complete_plugin() -> types.ModuleType:
    """Run section 3's code block as a module, as a plugin author would install it."""
    text = section("3. A complete model plugin")
    code = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert code
    module = types.ModuleType("docs_complete_plugin")
    exec(compile(code.group(1), "docs/plugins.md", "exec"), module.__dict__)
    return module


def test_the_complete_model_plugin_builds_saves_reloads_and_exports(tmp_path):
    from textcls import ModelContext, TokenizerContext, get_plugins
    from textcls.model_folder import load_model_folder, write_model_folder
    from textcls.onnx_export import compare_with_pytorch, export_onnx

    host = get_plugins()
    assert host.register(complete_plugin(), name="docs-plugin"), host.load_failures
    texts = ["a good film", "a bad film", "good", "bad plot"] * 5
    tokenizer = host.component("tokenizer", "word").create(
        {"min_frequency": 1}, context=TokenizerContext(texts=lambda: iter(texts))
    )
    context = ModelContext(
        num_labels=2,
        label_names=("neg", "pos"),
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = host.component("model", "my-gru").create({"hidden_size": 8}, context=context)
    assert model.config.hidden_size == 8 and model.config.embedding_dim == 64
    encoded = tokenizer(["a good film", "bad"], padding=True, return_tensors="pt")
    output = model(**encoded, labels=torch.tensor([1, 0]))
    output.loss.backward()
    folder = tmp_path / "model"
    folder.mkdir()
    meta = {"model": {"name": "my-gru", "params": {"hidden_size": 8}}, "labels": ["neg", "pos"]}
    write_model_folder(folder, model.eval(), tokenizer, meta)
    loaded = load_model_folder(folder)
    with torch.no_grad():
        assert torch.allclose(loaded.model(**encoded).logits, model(**encoded).logits)
    onnx_dir = tmp_path / "onnx"
    export_onnx(folder, onnx_dir)
    assert compare_with_pytorch(folder, onnx_dir) < 1e-4


def test_the_explainer_example_passes_its_conformance_checks(tmp_path):
    """Section 2's gradient x input explainer, as a plugin author would copy it, conforms."""
    from textcls import get_plugins
    from textcls.testing import check_component

    code = re.search(r"```python\n(.*?)```", section("Explainers"), flags=re.S)
    assert code
    module = types.ModuleType("docs_explainer_plugin")
    exec(compile(code.group(1), "docs/plugins.md", "exec"), module.__dict__)
    host = get_plugins()
    assert host.register(module, name="docs-explainer"), host.load_failures
    try:
        results = check_component("grad-x-input", workdir=tmp_path)
        assert [(r.check, r.detail) for r in results if r.status != "passed"] == []
        assert {"explain pytorch", "target pytorch", "refuses onnx"} <= {r.check for r in results}
    finally:
        host.unregister("docs-explainer")
