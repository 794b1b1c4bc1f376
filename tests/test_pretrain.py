"""The pretraining stage: MLM, causal LM, word2vec and GloVe, and fine-tuning from their output."""

from __future__ import annotations

import json
import random

import pytest
import torch
from model_helpers import TINY_MODELS, toy_data
from safetensors.torch import load_file
from textcls import ConfigError, config_from_dict
from textcls.artifact_files import read_pretrain_report
from textcls.model_folder import load_model_folder
from textcls.stages.finetune import fine_tune
from textcls.stages.pretrain import pretrain


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-pretrain")
    raw, data_dir = toy_data(base, n=300)
    return base, raw, data_dir


def config_for(raw, base, model, objective, tokenizer="word", **pretrain_train):
    return config_from_dict(
        {
            **raw,
            "pretrain": {
                "objective": objective,
                "target": "student",
                "train": {
                    "epochs": 2,
                    "batch_size": 32,
                    "learning_rate": 0.005,
                    "max_length": 32,
                    **pretrain_train,
                },
            },
            "student": {
                "model": {"name": model, "params": TINY_MODELS[model]},
                "tokenizer": {"name": tokenizer, "params": {"min_frequency": 1}},
                "init": "pretrain",
                "train": {"epochs": 1, "batch_size": 16, "learning_rate": 0.01, "max_length": 32},
            },
        },
        base_dir=base,
    )


@pytest.mark.parametrize("model", ["gru", "bilstm", "transformer"])
def test_causal_lm_reports_perplexity_and_seeds_the_student(toy, model):
    base, raw, data_dir = toy
    config = config_for(raw, base, model, "clm")
    out = base / f"pretrain-clm-{model}"
    pretrain(config, data_dir, out)
    report = read_pretrain_report(out)
    assert report["objective"] == "clm" and report["held_out_texts"] == 15
    vocab = len(json.loads((out / "tokenizer.json").read_text())["model"]["vocab"])
    # better than guessing uniformly over the vocabulary
    assert 1.0 < report["held_out_perplexity"] < vocab
    pretrained = load_file(str(out / "model.safetensors"))
    start = start_model(config, out)
    carried = [
        k
        for k, v in start.state_dict().items()
        if k in pretrained and torch.equal(v, pretrained[k])
    ]
    assert any("embeddings" in k for k in carried)  # the student starts from the LM's weights
    fine_tune(config, "student", data_dir, base / f"student-{model}", init_from=str(out))
    student = load_model_folder(base / f"student-{model}")
    assert student.tokenizer.get_vocab() == load_model_folder_tokenizer(out).get_vocab()


def start_model(config, folder):
    from textcls import get_plugins
    from textcls.training.builders import build_model

    return build_model(
        config.student.model,
        load_model_folder_tokenizer(folder),
        ["neg", "pos"],
        get_plugins(),
        init_from=str(folder),
    )


def load_model_folder_tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_causal_lm_loss_falls_with_training(toy):
    base, raw, data_dir = toy
    short = config_for(raw, base, "gru", "clm", epochs=1, max_steps=1)
    longer = config_for(raw, base, "gru", "clm", epochs=4)
    pretrain(short, data_dir, base / "clm-short")
    pretrain(longer, data_dir, base / "clm-long")
    assert (
        read_pretrain_report(base / "clm-long")["held_out_loss"]
        < read_pretrain_report(base / "clm-short")["held_out_loss"]
    )


def test_language_model_validation_runs_once_per_epoch(toy, monkeypatch):
    """The held-out loss comes from the kept model's logged evaluation, not one more pass
    (whichever epoch was best: the last one's weights are kept in memory, not checkpointed)."""
    from textcls.training.trainer import TextclsTrainer

    base, raw, data_dir = toy
    calls = []
    evaluate = TextclsTrainer.evaluate

    def counted(self, *args, **kwargs):
        metrics = evaluate(self, *args, **kwargs)
        calls.append(metrics["eval_loss"])
        return metrics

    monkeypatch.setattr(TextclsTrainer, "evaluate", counted)
    out = base / "pretrain-clm-once"
    pretrain(config_for(raw, base, "gru", "clm", epochs=2), data_dir, out)
    assert len(calls) == 2  # one per epoch, none after training
    # the best (lowest-loss) checkpoint is the one kept, and its loss is the one reported
    assert read_pretrain_report(out)["held_out_loss"] == pytest.approx(min(calls))


def test_masked_lm_for_a_transformer_from_scratch(toy):
    base, raw, data_dir = toy
    config = config_for(raw, base, "transformer", "mlm", tokenizer="wordpiece")
    out = base / "pretrain-mlm"
    pretrain(config, data_dir, out)
    assert read_pretrain_report(out)["held_out_perplexity"] > 1.0
    mlm = load_file(str(out / "model.safetensors"))
    start = start_model(config, out).state_dict()
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(start[name], mlm[name])
    fine_tune(config, "student", data_dir, base / "student-mlm", init_from=str(out))


def test_word2vec_vectors_initialise_the_embedding(toy):
    base, raw, data_dir = toy
    config = config_for(
        raw, base, "bilstm", "word2vec", epochs=2, batch_size=256, learning_rate=0.01
    )
    out = base / "pretrain-w2v"
    pretrain(config, data_dir, out)
    report = read_pretrain_report(out)
    assert report["dim"] == TINY_MODELS["bilstm"]["embedding_dim"] and report["pairs"] > 1000
    vectors = load_file(str(out / "embeddings.safetensors"))["weight"]
    assert torch.count_nonzero(vectors[0]) == 0  # [PAD] stays zero
    model = start_model(config, out)
    assert torch.equal(model.embeddings.weight.detach(), vectors)


def test_word2vec_vectors_put_co_occurring_words_closer(toy):
    base, raw, data_dir = toy
    out = base / "pretrain-w2v"
    if not out.exists():
        pytest.skip("needs the vectors from the test before")
    tokenizer = load_model_folder_tokenizer(out)
    vectors = torch.nn.functional.normalize(
        load_file(str(out / "embeddings.safetensors"))["weight"], dim=-1
    )
    ids = tokenizer.convert_tokens_to_ids
    # toy texts draw positive words together and negative words together
    same = (vectors[ids("good")] @ vectors[ids("great")]).item()
    across = (vectors[ids("good")] @ vectors[ids("awful")]).item()
    assert same > across


def test_glove_vectors_initialise_the_embedding_and_group_co_occurring_words(toy):
    """Two topics whose words never meet: GloVe's vectors group each topic's words."""
    base, raw, data_dir = toy
    pets, money = "cat dog pet fur paw tail".split(), "stock bank price trade fund loan".split()
    rng = random.Random(0)
    texts = [" ".join(rng.choice(g) for _ in range(8)) for _ in range(150) for g in (pets, money)]
    (base / "topics.csv").write_text("text\n" + "\n".join(texts) + "\n")
    config = config_for(raw, base, "bilstm", "glove", epochs=30, batch_size=32, learning_rate=0.05)
    config.pretrain.corpus = str(base / "topics.csv")
    out = base / "pretrain-glove"
    pretrain(config, data_dir, out)
    report = read_pretrain_report(out)
    assert report["objective"] == "glove" and report["window"] == 10
    assert report["dim"] == TINY_MODELS["bilstm"]["embedding_dim"]
    assert report["cooccurrence_entries"] == 2 * 6 * 6  # each topic's words meet each other
    # held-out log counts are fitted: zero vectors score mean(f(X) (log X)^2), about 22 here
    assert report["held_out_loss"] < 0.5
    vectors = load_file(str(out / "embeddings.safetensors"))["weight"]
    assert torch.count_nonzero(vectors[0]) == 0  # [PAD] stays zero
    model = start_model(config, out)
    assert torch.equal(model.embeddings.weight.detach(), vectors)
    ids = load_model_folder_tokenizer(out).convert_tokens_to_ids
    unit = torch.nn.functional.normalize(vectors, dim=-1)
    within = min((unit[ids(a)] @ unit[ids(b)]).item() for a in pets for b in pets)
    across = max((unit[ids(a)] @ unit[ids(b)]).item() for a in pets for b in money)
    assert within > across


def test_objectives_that_do_not_fit_the_model_are_config_errors(toy):
    base, raw, data_dir = toy
    with pytest.raises(
        ConfigError,
        match="'textcnn' declares no clm language-model head; models that do: bilstm, gru, "
        "transformer",
    ):
        pretrain(config_for(raw, base, "textcnn", "clm"), data_dir, base / "x")
    with pytest.raises(ConfigError, match="word2vec needs a word-level tokenizer"):
        pretrain(config_for(raw, base, "gru", "word2vec", tokenizer="char"), data_dir, base / "y")
    with pytest.raises(ConfigError, match="models that do: hf, transformer"):
        pretrain(config_for(raw, base, "gru", "mlm"), data_dir, base / "z")
    with pytest.raises(ConfigError, match="word2vec needs a word-level tokenizer"):
        pretrain(config_for(raw, base, "transformer", "word2vec"), data_dir, base / "w")
    with pytest.raises(ConfigError, match="glove needs a word-level tokenizer"):
        pretrain(config_for(raw, base, "gru", "glove", tokenizer="char"), data_dir, base / "v")
    assert not (base / "x").exists()


def test_student_init_pretrain_needs_a_pretrain_section(toy):
    base, raw, _ = toy
    with pytest.raises(ConfigError, match="student.init is 'pretrain' but no pretrain section"):
        config_from_dict({**raw, "student": {"model": "gru", "init": "pretrain"}}, base_dir=base)


@pytest.mark.slow
def test_masked_lm_domain_adaptation_of_minilm(toy):
    base, raw, data_dir = toy
    config = config_from_dict(
        {
            **raw,
            "pretrain": {
                "objective": "mlm",
                "target": "teacher",
                "train": {"max_steps": 2, "batch_size": 8, "max_length": 32},
            },
            "teacher": {
                "model": {
                    "name": "hf",
                    "params": {"pretrained": "sentence-transformers/all-MiniLM-L6-v2"},
                }
            },
        },
        base_dir=base,
    )
    out = base / "pretrain-minilm"
    pretrain(config, data_dir, out)
    assert read_pretrain_report(out)["held_out_perplexity"] > 1.0
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(out), num_labels=2)
    assert model.config.model_type == "bert"
