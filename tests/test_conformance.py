"""The conformance kit (textcls.testing) and `textcls plugins check`: built-ins pass, broken
components fail with a row that says what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textcls import get_plugins, hookimpl
from textcls.flows.cli import app
from textcls.testing import assert_conforms, check_component
from typer.testing import CliRunner

runner = CliRunner()


class LeakyPaddingPlugin:
    """A model that averages over padding too, a distiller that detaches the student, and a
    source that lets its parser's exceptions escape: three classic plugin bugs."""

    @hookimpl
    def textcls_register_models(self, register: Any) -> None:
        register("leaky-padding", _build_leaky, description="averages padding in")

    @hookimpl
    def textcls_register_distillers(self, register: Any) -> None:
        register("detached", _Detached, description="never reaches the student")

    @hookimpl
    def textcls_register_data_sources(self, register: Any) -> None:
        register("raw-open", _RawOpen, description="lets UnicodeDecodeError escape")


def _build_leaky(params: Any, context: Any) -> Any:
    import torch
    from textcls import TextclsModel, classification_loss, label_config
    from transformers import PretrainedConfig
    from transformers.modeling_outputs import SequenceClassifierOutput

    class LeakyConfig(PretrainedConfig):
        model_type = "test-leaky-padding"

        def __init__(self, vocab_size: int = 100, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.vocab_size = vocab_size

    class LeakyModel(TextclsModel):
        config_class = LeakyConfig

        def __init__(self, config: LeakyConfig) -> None:
            super().__init__(config)
            self.embeddings = torch.nn.Embedding(config.vocab_size, 8)
            self.classifier = torch.nn.Linear(8, config.num_labels)
            self.post_init()

        def forward(self, input_ids: Any, attention_mask: Any = None, labels: Any = None, **_: Any):
            logits = self.classifier(self.embeddings(input_ids).mean(1))  # padding included
            return SequenceClassifierOutput(loss=classification_loss(logits, labels), logits=logits)

    return LeakyModel(LeakyConfig(vocab_size=context.vocab_size, **label_config(context)))


class _Detached:
    needs = frozenset({"logits"})

    def __init__(self, params: Any) -> None:
        pass

    def loss(self, student: Any, teacher: Any, labels: Any, **_: Any) -> Any:
        import torch

        return torch.nn.functional.mse_loss(student.logits.detach(), teacher.logits)


class _RawOpen:
    def __init__(self, params: Any) -> None:
        pass

    def load(self, request: Any) -> Any:
        for path in request.inputs:
            open(path, encoding="utf-8").read()
        raise AssertionError("unreachable: the check's file is not UTF-8")


@pytest.fixture
def broken_plugin():
    host = get_plugins()
    host.register(LeakyPaddingPlugin(), name="test-broken")
    try:
        yield
    finally:
        host.unregister("test-broken")


def rows(results: list[Any]) -> dict[str, Any]:
    return {r.check: r for r in results}


def test_a_model_that_averages_padding_fails_the_padding_check_only(broken_plugin, tmp_path):
    results = rows(check_component("leaky-padding", workdir=tmp_path))
    assert results["padding"].status == "failed"
    assert "padded in a batch with longer texts" in results["padding"].detail
    assert "attention_mask" in results["padding"].detail
    for check in ("build", "forward", "loss", "backward", "train-steps", "save-reload"):
        assert results[check].status == "passed", results[check]
    assert results["onnx-export"].status == "passed"
    assert results["int8-predict"].status == "passed"
    assert "Predictor agrees with PyTorch" in results["int8-predict"].detail


def test_a_detached_distiller_fails_the_gradient_check(broken_plugin, tmp_path):
    results = rows(check_component("detached", workdir=tmp_path))
    assert results["finite-loss"].status == "passed"
    assert results["gradients"].status == "failed"
    assert "no gradient can reach the student" in results["gradients"].detail


def test_a_source_leaking_parser_errors_fails_with_the_exception_named(broken_plugin, tmp_path):
    results = rows(check_component("raw-open", workdir=tmp_path))
    assert results["bad-file"].status == "failed"
    assert results["bad-file"].detail.startswith("raised UnicodeDecodeError")
    assert "instead of textcls.DataError" in results["bad-file"].detail
    assert results["missing-file"].detail.startswith("raised FileNotFoundError")


def test_a_built_in_source_gets_a_located_error_for_a_bad_file(tmp_path):
    results = rows(check_component("jsonl", workdir=tmp_path))
    assert results["bad-file"].status == "passed"
    # the file and line of the first undecodable byte
    assert "bad-input.data:3: bytes b'\\xff'" in results["bad-file"].detail


def test_assert_conforms_raises_with_the_report_and_passes_a_good_component(
    broken_plugin, tmp_path
):
    with pytest.raises(AssertionError) as raised:
        assert_conforms("detached", workdir=tmp_path / "bad")
    assert "detached fails the textcls conformance checks" in str(raised.value)
    assert "gradients" in str(raised.value) and "failed" in str(raised.value)
    results = assert_conforms("word", workdir=tmp_path / "good")
    assert [r.check for r in results] == ["build", "encode", "save-reload"]


def test_plugins_check_exits_1_with_a_table_of_failures(broken_plugin):
    result = runner.invoke(app, ["plugins", "check", "detached", "word"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "failed checks" in result.stderr
    assert "1 of 7 checks failed (detached)" in result.stderr
    assert "no gradient can reach the student" in result.stderr


def test_plugins_check_json(broken_plugin):
    result = runner.invoke(app, ["plugins", "check", "word", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["passed"] is True
    assert {(r["component"], r["check"], r["status"]) for r in payload["results"]} == {
        ("word", "build", "passed"),
        ("word", "encode", "passed"),
        ("word", "save-reload", "passed"),
    }
    result = runner.invoke(app, ["plugins", "check", "detached", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["jsnl"], "unknown component 'jsnl'. Did you mean 'jsonl'?"),
        (["word", "--params", "word"], "--params 'word': write NAME=JSON"),
        (["word", "--params", "word={bad"], "--params word: not valid JSON"),
        (["word", "--params", "char={}"], "--params names char, which is not among"),
        (
            ["word", "--params", 'word={"vocab_size": 1}'],
            "--params word (tokenizer): vocab_size: Input should be greater than 5",
        ),
    ],
)
def test_plugins_check_usage_errors_exit_2(args, message):
    result = runner.invoke(app, ["plugins", "check", *args])
    assert result.exit_code == 2, result.output
    assert message in (result.stderr + result.stdout)


def test_every_kind_has_a_battery():
    from textcls import KINDS
    from textcls.testing import CHECKS

    assert set(CHECKS) == set(KINDS)


@pytest.mark.slow
def test_every_built_in_component_passes_plugins_check():
    host = get_plugins()
    built_in = {
        (c.kind, c.name)
        for registry in host.registries.values()
        for c in registry
        if c.distribution == "textcls"
    }
    names = sorted({name for _, name in built_in})
    result = runner.invoke(app, ["plugins", "check", *names, "--json"])
    payload = json.loads(result.stdout)
    failed = [r for r in payload["results"] if r["status"] == "failed"]
    assert result.exit_code == 0 and not failed, json.dumps(failed, indent=1)
    assert {(r["kind"], r["component"]) for r in payload["results"]} == built_in
    skipped = {(r["component"], r["check"]) for r in payload["results"] if r["status"] != "passed"}
    # only the hub source reads no local files to hand a bad one
    assert skipped == {("hf-hub", "bad-file"), ("hf-hub", "missing-file")}


def test_plugins_check_keeps_its_files_only_in_a_new_or_empty_folder(tmp_path):
    keep = tmp_path / "checks"
    result = runner.invoke(app, ["plugins", "check", "word", "--keep", str(keep)])
    assert result.exit_code == 0, result.output
    (saved,) = keep.glob("word/tokenizer-*/tokenizer/tokenizer.json")
    assert saved.is_file()
    result = runner.invoke(app, ["plugins", "check", "word", "--keep", str(keep)])
    assert result.exit_code == 2
    assert f"--keep {keep}: the folder is not empty" in result.stderr
    assert saved.is_file()  # nothing textcls did not write this time was touched


def test_each_provider_of_a_clashing_name_is_checked_as_plugin_name(tmp_path):
    from textcls.testing.toy import toy_tokenizer

    class Clash:
        @hookimpl
        def textcls_register_tokenizers(self, register: Any) -> None:
            register("word", lambda params: toy_tokenizer(), description="a second word")

    host = get_plugins()
    host.register(Clash(), name="test-clash")
    try:
        results = check_component("word", workdir=tmp_path)
    finally:
        host.unregister("test-clash")
    assert {(r.component, r.status) for r in results} == {
        ("builtin-tokenizers:word", "passed"),
        ("test-clash:word", "passed"),
    }
