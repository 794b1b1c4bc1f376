"""The plugin manager: entry points, failures, clashes, selection, unknown names."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import BaseModel, ValidationError
from textcls import (
    PluginError,
    PluginHost,
    UnknownComponentError,
    get_plugins,
    hookimpl,
)
from textcls.plugin_manager import DEFAULT_PLUGINS

ROOT = Path(__file__).resolve().parents[1]


def make_distribution(root: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]):
    """Lay out an installed distribution (modules + dist-info) under ``root``, as pip would."""
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source)
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[textcls]\n{lines}\n")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install fake third-party distributions on sys.path for one test."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(dist, modules, entry_points):
        make_distribution(tmp_path, dist, modules, entry_points)
        for name in modules:
            sys.modules.pop(name, None)

    yield install
    for path in tmp_path.glob("*.py"):
        sys.modules.pop(path.stem, None)


GOOD_PLUGIN = """
from pydantic import BaseModel, ValidationError
from textcls import hookimpl

class Params(BaseModel):
    width: int = 3

@hookimpl
def textcls_register_models(register):
    register("extra-model", lambda params: params, params=Params, description="An extra model")
"""


def test_builtins_load_through_entry_points():
    host = get_plugins()
    infos = {i.name: i for i in host.plugin_infos()}
    assert infos["builtin-sources"].distribution == "textcls"
    assert infos["builtin-sources"].builtin
    assert "textcls_register_data_sources" in infos["builtin-sources"].hooks
    assert {"csv", "tsv", "jsonl", "parquet", "text-folder", "hf-disk", "hf-hub"} <= set(
        host.registry("data_source").names()
    )
    assert host.load_failures == []


def test_default_plugins_match_pyproject_entry_points():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["textcls"]
    assert dict(DEFAULT_PLUGINS) == declared


def test_installed_plugins_are_ignored_in_builtin_only_mode(installed):
    installed("textcls-extra", {"extra_plugin": GOOD_PLUGIN}, {"extra": "extra_plugin"})
    host = PluginHost()
    host.load_entry_points()  # the suite runs with TEXTCLS_BUILTIN_PLUGINS_ONLY=1
    assert "extra-model" not in host.registry("model")
    host = PluginHost()
    host.load_entry_points(only_builtins=False)
    component = host.component("model", "extra-model")
    assert component.plugin == "extra"
    info = next(i for i in host.plugin_infos() if i.name == "extra")
    assert (info.distribution, info.version, info.builtin) == ("textcls-extra", "1.2.3", False)


def test_broken_plugin_is_reported_by_distribution_and_entry_point(installed):
    installed(
        "textcls-broken",
        {"broken_plugin": "raise RuntimeError('boom at import')"},
        {"broken": "broken_plugin"},
    )
    installed("textcls-extra", {"extra_plugin": GOOD_PLUGIN}, {"extra": "extra_plugin"})
    host = PluginHost()
    host.load_entry_points(only_builtins=False)
    assert len(host.load_failures) == 1
    failure = host.load_failures[0]
    assert failure.distribution == "textcls-broken"
    assert failure.entry_point == "broken"
    assert "RuntimeError: boom at import" in str(failure)
    assert "textcls-broken" in str(failure)
    # the others still loaded
    assert "extra-model" in host.registry("model")
    assert "csv" in host.registry("data_source")


def test_textcls_plugins_selects_third_party_plugins(installed, monkeypatch):
    installed("textcls-extra", {"extra_plugin": GOOD_PLUGIN}, {"extra": "extra_plugin"})
    host = PluginHost()
    host.load_entry_points(only_builtins=False, select=["something-else"])
    assert "extra-model" not in host.registry("model")
    assert "csv" in host.registry("data_source")  # built-ins always load
    monkeypatch.setenv("TEXTCLS_PLUGINS", "textcls-extra")
    host = PluginHost()
    host.load_entry_points(only_builtins=False)
    assert "extra-model" in host.registry("model")


def test_a_name_clash_keeps_both_providers_and_a_pipeline_picks_one():
    class Clash:
        @hookimpl
        def textcls_register_data_sources(self, register):
            register("csv", lambda params: SimpleNamespace(load=lambda request: "other csv"))

    host = get_plugins()
    host.register(Clash(), name="clash-plugin")
    assert host.load_failures == []
    registry = host.registry("data_source")
    assert registry.clashes() == {"csv": ["builtin-sources", "clash-plugin"]}
    with pytest.raises(PluginError) as info:
        host.component("data_source", "csv")
    message = str(info.value)
    assert "'builtin-sources' and 'clash-plugin'" in message
    assert "data_source named 'csv'" in message
    assert "'clash-plugin:csv'" in message  # says how to pick one
    assert host.component("data_source", "clash-plugin:csv").create().load(None) == "other csv"
    assert host.component("data_source", "builtin-sources:csv").plugin == "builtin-sources"
    assert host.component("data_source", "textcls:csv").plugin == "builtin-sources"  # by dist
    with pytest.raises(UnknownComponentError, match="no plugin 'nobody'"):
        host.component("data_source", "nobody:csv")


def test_unknown_component_lists_available_names_and_closest_match():
    with pytest.raises(UnknownComponentError) as info:
        get_plugins().component("data_source", "jsonn")
    message = str(info.value)
    assert "unknown data source 'jsonn'" in message
    assert "Did you mean 'jsonl'?" in message
    assert "csv, hf-disk, hf-hub, jsonl, parquet, text-folder, tsv" in message


def test_params_model_must_be_pydantic():
    class Bad:
        @hookimpl
        def textcls_register_models(self, register):
            register("bad", lambda params: params, params=dict)

    host = get_plugins()
    assert host.register(Bad(), name="bad-plugin") is None
    (failure,) = host.load_failures
    assert failure.entry_point == "bad-plugin"
    assert "params must be a pydantic BaseModel subclass" in failure.error
    assert "model 'bad'" in failure.error
    assert "csv" in host.registry("data_source")  # the others still load


def test_component_validates_params_and_passes_only_declared_arguments():
    class Params(BaseModel):
        size: int = 2

    class Sized:
        """A source of a given size."""

        def __init__(self, params):
            self.size = params.size

        def load(self, request):
            return self.size

    class Plugin:
        @hookimpl
        def textcls_register_data_sources(self, register):
            register("sized", Sized, params=Params)

    host = get_plugins()
    host.register(Plugin(), name="sized-plugin")
    component = host.component("data_source", "sized")
    # the factory does not declare `context`, so it does not get it
    assert component.create({"size": 5}, context="not for Sized").size == 5
    assert component.description == "A source of a given size."  # the docstring's first line
    with pytest.raises(ValidationError):
        component.create({"size": "five"})
    host.unregister("sized-plugin")
    assert "sized" not in host.registry("data_source")


def test_packaged_minilm_resolves_offline():
    path = get_plugins().resolve_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    assert path is not None and (Path(path) / "model.safetensors").is_file()
    assert get_plugins().resolve_pretrained("no-such-org/no-such-model") is None


def test_a_second_plugin_under_a_taken_name_is_refused_and_the_first_kept():
    class Twin:
        @hookimpl
        def textcls_register_distillers(self, register):
            register("twin-only", lambda params: None)

    host = get_plugins()
    assert host.register(Twin(), name="builtin-sources") is None
    assert "already registered" in host.load_failures[0].error
    assert "csv" in host.registry("data_source")
    assert "twin-only" not in host.registry("distiller")
