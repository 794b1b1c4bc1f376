"""The ``hf`` model's classification heads: linear (transformers' own), conv, attention-pool.

A tiny random BERT checkpoint stands in for MiniLM: each head must pass the whole conformance
battery (train, save/reload, padding, ONNX export, int8 through the Predictor), start from the
checkpoint's encoder weights, and load back by path alone in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from textcls import ConfigError, ModelContext, get_plugins
from textcls.config import config_from_dict
from textcls.pretrained import resolve_pretrained
from textcls.testing import check_model, failures, format_results

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] good bad film plot great awful dull the a was and it is"


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "vocab.txt").write_text("\n".join(WORDS.split()) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(WORDS.split()),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def build(folder, **params):
    return (
        get_plugins()
        .component("model", "hf")
        .create(
            {"pretrained": str(folder), **params},
            context=ModelContext(
                num_labels=2, label_names=["neg", "pos"], resolve=resolve_pretrained
            ),
        )
    )


@pytest.mark.parametrize("head", ["linear", "conv", "attention-pool"])
def test_every_head_passes_the_conformance_battery(tiny_bert, tmp_path, head):
    results = check_model("hf", {"pretrained": str(tiny_bert), "head": head}, workdir=tmp_path)
    assert not failures(results), format_results(results)
    built = {r.check: r.detail for r in results}["build"]
    expected = "BertForSequenceClassification" if head == "linear" else "EncoderHead"
    assert built.startswith(expected)


@pytest.mark.parametrize("head", ["conv", "attention-pool"])
def test_head_starts_from_the_pretrained_encoder(tiny_bert, head):
    from transformers import BertModel

    pretrained = BertModel.from_pretrained(tiny_bert)
    model = build(tiny_bert, head=head)
    assert model.config.head == head
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert torch.equal(
        model.encoder.embeddings.word_embeddings.weight,
        pretrained.embeddings.word_embeddings.weight,
    )
    assert torch.equal(
        model.encoder.encoder.layer[0].attention.self.query.weight,
        pretrained.encoder.layer[0].attention.self.query.weight,
    )


def test_a_saved_head_loads_by_path_in_a_fresh_process(tiny_bert, tmp_path):
    from textcls.model_folder import write_model_folder
    from transformers import AutoTokenizer

    model = build(tiny_bert, head="conv", conv_filters=4, conv_kernel_sizes=[3])
    meta = {
        "model": {"name": "hf", "params": {"pretrained": str(tiny_bert), "head": "conv"}},
        "labels": ["neg", "pos"],
    }
    write_model_folder(tmp_path, model.eval(), AutoTokenizer.from_pretrained(tiny_bert), meta)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "textcls-hf-head" and config["encoder"]["model_type"] == "bert"
    encoded = AutoTokenizer.from_pretrained(tiny_bert)(["good film"], return_tensors="pt")
    with torch.no_grad():
        here = model(**encoded).logits[0].tolist()
    script = (
        "import sys, torch\n"
        "from textcls.model_folder import load_model_folder\n"
        "m = load_model_folder(sys.argv[1])\n"
        "e = m.tokenizer(['good film'], return_tensors='pt')\n"
        "with torch.no_grad(): print(m.model(**e).logits[0].tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there == pytest.approx(here, abs=1e-6)


def test_a_head_starts_from_a_saved_headed_model_keeping_its_encoder(tiny_bert, tmp_path):
    """The pretraining stage saves the headed classifier; fine-tuning starts from it."""
    first = build(tiny_bert, head="attention-pool")
    with torch.no_grad():
        first.encoder.embeddings.word_embeddings.weight.add_(1.0)  # as if pretrained further
    first.save_pretrained(tmp_path)
    again = (
        get_plugins()
        .component("model", "hf")
        .create(
            {"pretrained": str(tiny_bert), "head": "attention-pool"},
            context=ModelContext(num_labels=3, init_from=str(tmp_path), resolve=resolve_pretrained),
        )
    )
    assert torch.equal(
        again.encoder.embeddings.word_embeddings.weight,
        first.encoder.embeddings.word_embeddings.weight,
    )
    assert again.classifier.out_features == 3


def test_unknown_head_and_remote_code_head_are_config_errors(tmp_path):
    raw = {
        "name": "h",
        "data": {"train": "x.csv"},
        "teacher": {"model": {"name": "hf", "params": {"pretrained": "p", "head": "lstm"}}},
    }
    with pytest.raises(ConfigError, match="head"):
        config_from_dict(raw, base_dir=tmp_path)
    raw["teacher"]["model"]["params"] = {
        "pretrained": "p",
        "head": "conv",
        "trust_remote_code": True,
    }
    with pytest.raises(ConfigError, match="head: linear"):
        config_from_dict(raw, base_dir=tmp_path)


def test_cli_checks_a_head_with_params_for_the_model_only(tiny_bert):
    """``hf`` also names a tokenizer; --kind model keeps head params away from it."""
    from textcls.flows.cli import app
    from typer.testing import CliRunner

    params = json.dumps({"pretrained": str(tiny_bert), "head": "conv"})
    args = ["plugins", "check", "hf", "--kind", "model", "--params", f"hf={params}", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output[result.output.index("{") :])
    assert payload["passed"] is True
    assert {r["check"] for r in payload["results"]} >= {"onnx-export", "int8-predict"}


def test_a_headed_teacher_gives_its_layers_to_a_student(tiny_bert):
    """init: teacher-layers keeps the head and the chosen encoder layers of a conv teacher."""
    from textcls.distillation.layers import student_from_teacher_layers
    from transformers import BertConfig, BertModel

    deeper = BertModel(
        BertConfig(
            vocab_size=len(WORDS.split()),
            hidden_size=16,
            num_hidden_layers=3,
            num_attention_heads=2,
            intermediate_size=16,
            max_position_embeddings=64,
        ),
        add_pooling_layer=False,  # as the heads keep their encoder
    )
    teacher = build(tiny_bert, head="conv")
    teacher.encoder = deeper  # three layers to choose from
    teacher.config.encoder = deeper.config.to_dict()
    student = student_from_teacher_layers(teacher, {}, [0, 2])
    assert len(student.encoder.encoder.layer) == 2
    assert student.config.encoder["num_hidden_layers"] == 2
    assert torch.equal(
        student.encoder.encoder.layer[1].attention.self.query.weight,
        deeper.encoder.layer[2].attention.self.query.weight,
    )
    assert torch.equal(student.head.convs[0].weight, teacher.head.convs[0].weight)
