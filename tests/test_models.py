"""Model plugins: every architecture is a PreTrainedModel that trains, saves and loads back."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from model_helpers import TINY_MODELS, toy_data, with_student
from textcls import ConfigError, DataError, ModelContext, get_plugins
from textcls.model_folder import load_model_folder
from textcls.pretrained import resolve_pretrained
from textcls.stages.finetune import fine_tune


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy")
    raw, data_dir = toy_data(base)
    return base, raw, data_dir


def batch(tokenizer, texts):
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}


@pytest.mark.parametrize("architecture", sorted(TINY_MODELS))
def test_architecture_learns_the_toy_task_and_loads_back_identically(toy, architecture):
    base, raw, data_dir = toy
    config = with_student(raw, base, architecture)
    out = base / f"student-{architecture}"
    fine_tune(config, "student", data_dir, out)
    meta = json.loads((out / "textcls.json").read_text())
    assert meta["model"]["name"] == architecture
    assert meta["labels"] == ["neg", "pos"]
    metrics = meta["metrics"]
    assert metrics["validation_accuracy"] >= 0.85, metrics
    assert metrics["validation_loss"] < 0.69  # below chance-level cross-entropy
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: textcls\n")  # the Hub metadata block
    assert "\n# toy student\n" in card
    assert not list(base.glob(f".student-{architecture}.work-*"))  # work folder cleaned up

    loaded = load_model_folder(out)
    again = load_model_folder(out)
    inputs = batch(loaded.tokenizer, ["good film", "the plot was awful and dull"])
    with torch.no_grad():
        first = loaded.model(**inputs, output_hidden_states=True)
        second = again.model(**inputs)
    assert torch.equal(first.logits, second.logits)
    assert first.logits.shape == (2, 2)
    assert first.hidden_states is not None and len(first.hidden_states) >= 1


@pytest.mark.parametrize("architecture", ["bilstm", "gru", "textcnn", "bow"])
def test_padding_never_changes_a_prediction(architecture):
    model = (
        get_plugins()
        .component("model", architecture)
        .create(
            TINY_MODELS[architecture],
            context=ModelContext(num_labels=3, vocab_size=50, pad_token_id=0),
        )
        .eval()
    )
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12]])
    short = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0]])
    mask = (short != 0).long()
    with torch.no_grad():
        alone = model(input_ids=short[:, :3], attention_mask=mask[:, :3]).logits
        padded = model(
            input_ids=torch.cat([short, ids]),
            attention_mask=torch.cat([mask, torch.ones_like(ids)]),
        ).logits[:1]
    assert torch.allclose(alone, padded, atol=1e-5)


def test_transformer_returns_attentions():
    model = (
        get_plugins()
        .component("model", "transformer")
        .create(TINY_MODELS["transformer"], context=ModelContext(num_labels=2, vocab_size=50))
    )
    out = model(input_ids=torch.tensor([[1, 2, 3]]), output_attentions=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (1, 2, 3, 3)


def test_transformer_heads_must_divide_hidden_size():
    with pytest.raises(ConfigError, match="must be a multiple of num_heads"):
        get_plugins().component("model", "transformer").create(
            {"hidden_size": 30, "num_heads": 4}, context=ModelContext(num_labels=2, vocab_size=9)
        )


def test_unknown_pretrained_model_offline_is_one_clear_error():
    with pytest.raises(ConfigError) as info:
        resolve_pretrained("some-org/not-here")
    message = str(info.value)
    assert "'some-org/not-here' is not available offline" in message
    assert "builtin-resolver-packaged" in message and "HF_HUB_OFFLINE" in message


def test_local_folder_resolves_to_itself(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_pretrained(str(tmp_path)) == str(tmp_path.resolve())


def test_pickled_weights_are_refused(toy, tmp_path):
    base, raw, data_dir = toy
    config = with_student(raw, base, "bow")
    out = base / "student-bow-pickle"
    fine_tune(config, "student", data_dir, out)
    loaded = load_model_folder(out)
    torch.save(loaded.model.state_dict(), out / "pytorch_model.bin")
    (out / "model.safetensors").unlink()
    with pytest.raises(DataError, match="textcls loads weights from safetensors only"):
        load_model_folder(out)


def test_hf_model_refuses_pickled_checkpoint(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(
        BertConfig(
            vocab_size=30,
            hidden_size=8,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=8,
        )
    )
    model.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file()
    with pytest.raises(OSError, match="safetensors"):
        get_plugins().component("model", "hf").create(
            {"pretrained": str(tmp_path)},
            context=ModelContext(num_labels=2, resolve=resolve_pretrained),
        )


def test_trust_remote_code_warns(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    BertForSequenceClassification(
        BertConfig(
            vocab_size=30,
            hidden_size=8,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=8,
        )
    ).save_pretrained(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_plugins().component("model", "hf").create(
            {"pretrained": str(tmp_path), "trust_remote_code": True},
            context=ModelContext(num_labels=2, resolve=resolve_pretrained),
        )
    assert any("trust_remote_code is on" in str(w.message) for w in caught)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(DataError, match="not a textcls model folder"):
        load_model_folder(tmp_path)
