"""The typed plugin contract: refusals name plugin, component and what is missing; a plugin
written from the docs (tests/third_party_plugin.py) trains, distills, pretrains and reloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import third_party_plugin
import torch
from model_helpers import TINY_MODELS, toy_data
from pydantic import BaseModel
from test_plugin_manager import make_distribution
from textcls import (
    ConfigError,
    ContractError,
    DataError,
    DistillerCapabilities,
    ModelCapabilities,
    PluginError,
    call_declared,
    config_from_dict,
    get_plugins,
    hookimpl,
)
from textcls.artifacts import ArtifactRef
from textcls.flows.cli import app
from textcls.lifecycle import run_stage
from textcls.model_folder import load_model_folder
from typer.testing import CliRunner

TESTS = Path(__file__).resolve().parent
TRAIN = {"epochs": 3, "batch_size": 16, "learning_rate": 0.01, "max_length": 32}


class Params(BaseModel):
    size: int = 1


class NoLoss:
    """A distiller class that forgot its loss."""

    def __init__(self, params):
        pass


def _source(params):
    return SimpleNamespace(load=lambda request: None)


BAD_REGISTRATIONS = {
    "distiller without loss": (
        "textcls_register_distillers",
        lambda register: register("no-loss", NoLoss, params=Params),
        "distiller 'no-loss': factory class NoLoss has no loss()",
    ),
    "capability typo": (
        "textcls_register_data_sources",
        lambda register: register("typo", _source, capabilities={"local_file": False}),
        "data source 'typo': invalid capabilities: local_file: Extra inputs are not permitted",
    ),
    "capabilities of another kind": (
        "textcls_register_models",
        lambda register: register("m", _source, capabilities=DistillerCapabilities()),
        "model 'm': capabilities must be ModelCapabilities, got DistillerCapabilities",
    ),
    "lm objective without head": (
        "textcls_register_models",
        lambda register: register(
            "m", _source, capabilities=ModelCapabilities(lm_objectives=frozenset({"mlm"}))
        ),
        "model 'm': declares lm_objectives ['mlm'] but no language_model head",
    ),
    "language model head of the wrong shape": (
        "textcls_register_models",
        lambda register: register(
            "m",
            _source,
            capabilities=ModelCapabilities(
                language_model=lambda model: model, lm_objectives=frozenset({"clm"})
            ),
        ),
        "model 'm': language_model must accept (model, objective)",
    ),
    "teachers param not in params": (
        "textcls_register_distillers",
        lambda register: register(
            "d", third_party_plugin.CosineDistiller, capabilities={"teachers_param": "others"}
        ),
        "distiller 'd': teachers_param 'others' is not a field of its params model NoParams",
    ),
    "explainer that explains no model kind": (
        "textcls_register_explainers",
        lambda register: register("e", _source, capabilities={"model_kinds": []}),
        "explainer 'e': declares no model_kinds",
    ),
    "explainer class without explain": (
        "textcls_register_explainers",
        lambda register: register("e", NoLoss),
        "explainer 'e': factory class NoLoss has no explain()",
    ),
    "factory without params": (
        "textcls_register_data_sources",
        lambda register: register("f", lambda: None),
        "data source 'f': factory '<lambda>' must accept the validated params",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRATIONS))
def test_a_component_that_breaks_its_contract_disables_its_plugin_only(case):
    hook, body, expected = BAD_REGISTRATIONS[case]
    plugin = type("Bad", (), {hook: hookimpl(lambda self, register: body(register))})()

    class Good:
        @hookimpl
        def textcls_register_data_sources(self, register):
            register("fine-source", _source)

    host = get_plugins()
    assert host.register(plugin, name="bad-plugin") is None
    assert host.register(Good(), name="good-plugin") == "good-plugin"
    (failure,) = host.load_failures
    assert failure.entry_point == "bad-plugin"
    assert f"plugin 'bad-plugin': {expected}" in failure.error
    assert "fine-source" in host.registry("data_source")
    assert "bad-plugin" not in {i.name for i in host.plugin_infos()}


def test_a_product_that_breaks_its_contract_is_refused_naming_plugin_and_component():
    class Plugin:
        @hookimpl
        def textcls_register_distillers(self, register):
            register("lazy", lambda params: object())

    host = get_plugins()
    host.register(Plugin(), name="lazy-plugin")
    with pytest.raises(PluginError) as info:
        host.component("distiller", "lazy").create()
    assert "plugin 'lazy-plugin': distiller 'lazy'" in str(info.value)
    assert "lacks loss" in str(info.value)


MISSPELLED = """
from textcls import hookimpl

@hookimpl
def textcls_register_model(register):
    pass
"""
WRONG_ARGUMENT = """
from textcls import hookimpl

@hookimpl
def textcls_register_models(registr):
    pass
"""


def test_misspelled_hook_and_wrong_argument_are_load_failures_the_cli_shows(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    make_distribution(
        tmp_path, "textcls-typo", {"typo_plugin": MISSPELLED}, {"typo": "typo_plugin"}
    )
    make_distribution(
        tmp_path, "textcls-wrong", {"wrong_plugin": WRONG_ARGUMENT}, {"wrong": "wrong_plugin"}
    )
    monkeypatch.setenv("TEXTCLS_BUILTIN_PLUGINS_ONLY", "0")
    monkeypatch.setenv("TEXTCLS_PLUGINS", "typo,wrong")
    result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    failures = {f["entry_point"]: f["error"] for f in payload["failures"]}
    assert "'textcls_register_model' is not a textcls hook; did you mean " in failures["typo"]
    assert "'textcls_register_models'?" in failures["typo"]
    assert "textcls_register_models(registr) declares 'registr'" in failures["wrong"]
    assert "passes (register)" in failures["wrong"]
    assert "builtin-models" in {p["name"] for p in payload["plugins"]}
    text = CliRunner().invoke(app, ["plugins", "list"])
    assert text.exit_code == 0
    assert "Traceback" not in text.output
    assert "not a textcls hook" in text.output


def test_a_listener_that_declares_one_argument_is_called():
    third_party_plugin.FINISHED.clear()
    host = get_plugins()
    host.register(third_party_plugin, name="third-party")
    ref = ArtifactRef(stage="ingest", path="/nowhere", sha256="0" * 64)
    assert run_stage("ingest", "/nowhere", {}, lambda: ref, plugins=host) == ref
    assert third_party_plugin.FINISHED == ["ingest"]


def test_call_declared_passes_only_declared_keywords():
    def loss(student, teacher, labels):
        return (student, teacher, labels)

    def with_mask(student, teacher, labels, attention_mask):
        return attention_mask

    assert call_declared(loss, 1, 2, 3, attention_mask=4, progress=0.5) == (1, 2, 3)
    assert call_declared(with_mask, 1, 2, 3, attention_mask=4, progress=0.5) == 4
    assert call_declared(lambda *a, **k: k, progress=0.5) == {"progress": 0.5}


def test_a_clash_shows_both_providers_and_a_pipeline_picks_one(tmp_path):
    class Other:
        @hookimpl
        def textcls_register_models(self, register):
            register("bow", third_party_plugin.ConvClassifier, params=third_party_plugin.ConvParams)

    host = get_plugins()
    host.register(Other(), name="other-models")
    runner = CliRunner()
    listed = runner.invoke(app, ["plugins", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["clashes"] == {
        "model": {"bow": ["builtin-models", "other-models"]}
    }
    text = runner.invoke(app, ["plugins", "list"])
    assert "builtin-models:bow or other-models:bow" in " ".join(text.output.split())

    raw = {"name": "clash", "data": {"train": "train.csv"}, "student": {"model": "bow"}}
    (tmp_path / "train.csv").write_text("text,label\na,x\n")
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, base_dir=tmp_path)
    assert "student.model.name: two plugins register a model named 'bow'" in str(info.value)
    assert "'other-models:bow'" in str(info.value)
    picked = {**raw, "student": {"model": {"name": "other-models:bow", "params": {"width": 5}}}}
    config = config_from_dict(picked, base_dir=tmp_path)
    assert config.student.model.params == {"embedding_dim": 16, "width": 5}
    component = host.component("model", config.student.model.name)
    assert component.plugin == "other-models"


def test_an_unregistered_architecture_is_reported_as_such(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "nobody-registered-this"}))
    (folder / "model.safetensors").write_bytes(b"")
    meta = {"model": {"name": "bow", "params": {}}, "labels": ["neg", "pos"]}
    (folder / "textcls.json").write_text(json.dumps(meta))
    with pytest.raises(DataError) as info:
        load_model_folder(folder)
    message = str(info.value)
    assert "model_type 'nobody-registered-this'" in message
    assert "not registered" in message and "truncated" not in message


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-contract")
    raw, data_dir = toy_data(base, n=200)
    return base, raw, data_dir


def _with_third_party():
    host = get_plugins()
    if not host.pm.has_plugin("third-party"):
        host.register(third_party_plugin, name="third-party")
    return host


def test_a_third_party_model_trains_saves_and_reloads_in_a_fresh_process(toy, tmp_path):
    from textcls.stages.finetune import fine_tune

    base, raw, data_dir = toy
    _with_third_party()
    student = {"model": "conv-test", "tokenizer": {"name": "word", "params": {"min_frequency": 1}}}
    config = config_from_dict({**raw, "student": {**student, "train": TRAIN}}, base_dir=base)
    out = base / "conv-student"
    fine_tune(config, "student", data_dir, out)
    loaded = load_model_folder(out)
    assert type(loaded.model).__name__ == "ConvClassifier"
    assert loaded.meta["metrics"]["validation_accuracy"] >= 0.8
    saved = json.loads((out / "config.json").read_text())
    assert saved["model_type"] == "third-party-conv" and saved["width"] == 3
    encoded = loaded.tokenizer(["good great movie"], return_tensors="pt")
    with torch.no_grad():
        here = loaded.model(**encoded).logits[0].tolist()

    # A new process knows the architecture only through the plugin's registration.
    make_distribution(tmp_path, "textcls-third", {}, {"third-party": "third_party_plugin"})
    script = (
        "import json, torch\n"
        "from textcls.model_folder import load_model_folder\n"
        f"m = load_model_folder({str(out)!r})\n"
        "e = m.tokenizer(['good great movie'], return_tensors='pt')\n"
        "print(json.dumps(m.model(**e).logits[0].tolist()))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS)]),
        "TEXTCLS_BUILTIN_PLUGINS_ONLY": "0",
        "TEXTCLS_PLUGINS": "third-party",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    there = json.loads(result.stdout.strip().splitlines()[-1])
    assert there == pytest.approx(here, abs=1e-6)


def test_a_third_party_distiller_with_the_minimum_loss_trains_a_student(toy):
    from textcls.stages.distill import distill
    from textcls.stages.finetune import fine_tune

    base, raw, data_dir = toy
    _with_third_party()
    word = {"name": "word", "params": {"min_frequency": 1}}
    teacher = {"model": {"name": "gru", "params": TINY_MODELS["gru"]}, "tokenizer": word}
    config = config_from_dict(
        {
            **raw,
            "teacher": {**teacher, "train": TRAIN},
            "student": {
                "model": "conv-test",
                "tokenizer": word,
                "distill": {"name": "cosine-test", "params": {"alpha": 0.7}},
                "train": TRAIN,
            },
        },
        base_dir=base,
    )
    fine_tune(config, "teacher", data_dir, base / "gru-teacher")
    out = base / "cosine-student"
    distill(config, data_dir, base / "gru-teacher", out)
    meta = json.loads((out / "textcls.json").read_text())
    assert meta["distill"]["distiller"]["name"] == "cosine-test"
    assert meta["metrics"]["validation_accuracy"] >= 0.8


def test_a_third_party_architecture_is_pretrained_with_masked_lm(toy):
    from safetensors.torch import load_file
    from textcls.artifact_files import read_pretrain_report
    from textcls.stages.finetune import fine_tune
    from textcls.stages.pretrain import pretrain

    base, raw, data_dir = toy
    _with_third_party()
    config = config_from_dict(
        {
            **raw,
            "pretrain": {
                "objective": "mlm",
                "target": "student",
                "train": {"epochs": 2, "batch_size": 32, "learning_rate": 0.01, "max_length": 32},
            },
            "student": {
                "model": "conv-test",
                "tokenizer": {"name": "wordpiece", "params": {"min_frequency": 1}},
                "init": "pretrain",
                "train": {**TRAIN, "epochs": 1},
            },
        },
        base_dir=base,
    )
    out = base / "conv-mlm"
    pretrain(config, data_dir, out)
    report = read_pretrain_report(out)
    vocab = len(json.loads((out / "tokenizer.json").read_text())["model"]["vocab"])
    assert 1.0 < report["held_out_perplexity"] < vocab  # it learned something
    pretrained = load_file(str(out / "model.safetensors"))
    assert set(pretrained) >= {"embeddings.weight", "conv.weight", "classifier.weight"}
    student = base / "conv-from-mlm"
    fine_tune(config, "student", data_dir, student, init_from=str(out))
    assert load_model_folder(student).meta["init_from"] == str(out)


def test_pretraining_asks_the_models_capabilities(toy):
    from textcls.stages.pretrain import pretrain

    base, raw, data_dir = toy
    _with_third_party()
    config = config_from_dict(
        {
            **raw,
            "pretrain": {"objective": "clm", "target": "student"},
            "student": {"model": "conv-test"},
        },
        base_dir=base,
    )
    with pytest.raises(ConfigError) as info:
        pretrain(config, data_dir, base / "never")
    assert "'conv-test' declares no clm language-model head" in str(info.value)
    assert "bilstm, gru, transformer" in str(info.value)
    assert not (base / "never").exists()


def test_a_textcls_model_class_is_its_own_factory_and_architecture():
    from textcls.contracts import is_registered_model_type

    component = _with_third_party().component("model", "conv-test")
    assert component.description == "Embeddings, one convolution, mean over time, a linear layer."
    assert component.capabilities_as(ModelCapabilities).architecture is (
        third_party_plugin.ConvClassifier
    )
    assert is_registered_model_type("third-party-conv")
    config = third_party_plugin.ConvClassifier.config_class()
    assert (config.model_type, config.embedding_dim, config.width) == ("third-party-conv", 16, 3)


def test_every_builtin_distiller_and_quantizer_fits_its_contract():
    host = get_plugins()
    assert host.load_failures == []
    for kind in ("distiller", "quantizer"):
        for component in host.registry(kind):
            assert component.plugin.startswith("builtin-")
            component.create()  # raises ContractError when the product does not fit


def test_a_resolver_answering_something_else_than_a_path_is_refused_by_name():
    class Odd:
        @hookimpl(tryfirst=True)
        def textcls_resolve_pretrained(self, name):
            return 42 if name == "odd" else None

    host = get_plugins()
    host.register(Odd(), name="odd-resolver")
    with pytest.raises(ContractError, match="plugin 'odd-resolver': textcls_resolve_pretrained"):
        host.resolve_pretrained("odd")
    assert host.resolve_pretrained("no-such-org/no-such-model") is None


def test_plugins_show_prints_declared_capabilities():
    result = CliRunner().invoke(app, ["plugins", "show", "hf"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "capabilities:" in x and "mlm" in x)
    assert "default_tokenizer=hf" in line and "lm_objectives={mlm}" in line
