"""The Predictor's quick path (#20) gives the answers of the plain path.

The plain path is what any user would write: the folder's transformers tokenizer on one text at
a time (no padding), the model on that one text, softmax. The quick path sorts texts by length,
pads each batch to its longest, tokenizes an ONNX folder without transformers and runs its
batches on several threads at once; labels and probabilities must agree to 1e-6 on a few
hundred texts of mixed lengths, for a word-tokenizer BiLSTM student and an ``hf`` (BERT) model,
in PyTorch and exported to ONNX. An int8 model's activations are quantized per batch, so its
reference is the same batches on one thread: several workers must not change a number.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from model_helpers import NEGATIVE, POSITIVE, toy_data, with_student
from textcls import config_from_dict
from textcls.config import QuantizeStep
from textcls.onnx_export import export_onnx
from textcls.predictor import Predictor, softmax
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize
from transformers import AutoTokenizer

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] good bad film plot great awful dull the a was and it is"


def mixed_texts(n: int = 300) -> list[str]:
    """Empty to well past max_length, unknown words, punctuation, accents, CJK, emoji."""
    rng = random.Random(7)
    vocabulary = [*POSITIVE, *NEGATIVE, "the", "plot", "zebra", "naïve", "!", "...", "好", "🎬"]
    texts = ["", " ", "good", "[CLS] [PAD] typed by a user"]
    while len(texts) < n:
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80])
        texts.append(" ".join(rng.choice(vocabulary) for _ in range(length)))
    return texts


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    base = tmp_path_factory.mktemp("fast-path")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bilstm"), "student", data_dir, base / "bilstm")
    bert = base / "tiny-bert"
    bert.mkdir()
    (bert / "vocab.txt").write_text("\n".join(WORDS.split()) + "\n")
    BertTokenizerFast(vocab_file=str(bert / "vocab.txt")).save_pretrained(bert)
    torch.manual_seed(0)
    size = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 16}
    config = BertConfig(vocab_size=len(WORDS.split()), num_hidden_layers=1, **size)
    BertModel(config).save_pretrained(bert)
    teacher = {
        "model": {"name": "hf", "params": {"pretrained": str(bert)}},
        "train": {"max_steps": 3, "batch_size": 16, "max_length": 32},
    }
    fine_tune(
        config_from_dict({**raw, "teacher": teacher}, base_dir=base),
        "teacher",
        data_dir,
        base / "hf",
    )
    for name in ("bilstm", "hf"):
        export_onnx(base / name, base / f"{name}-onnx")
    quantize(QuantizeStep(name="ort-dynamic-int8"), base / "bilstm", data_dir, base / "bilstm-int8")
    return base


def plain_probabilities(folder, texts: list[str], max_length: int) -> np.ndarray:
    """One text at a time through the transformers tokenizer and the model (torch or ORT)."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if (folder / "model.onnx").is_file():
        import onnxruntime as ort

        session = ort.InferenceSession(str(folder / "model.onnx"))
        names = {i.name for i in session.get_inputs()}

        def run(encoded):
            return session.run(None, {k: v for k, v in encoded.items() if k in names})[0]

        returns = "np"
    else:
        from textcls.model_folder import load_model_folder

        model = load_model_folder(folder).model.eval()

        def run(encoded):
            with torch.inference_mode():
                return model(**encoded).logits.numpy()

        returns = "pt"
    rows = []
    for text in texts:
        encoded = tokenizer([text], truncation=True, max_length=max_length, return_tensors=returns)
        rows.append(run(dict(encoded))[0])
    return softmax(np.asarray(rows, dtype=np.float32))


@pytest.mark.parametrize("name", ["bilstm", "hf", "bilstm-onnx", "hf-onnx"])
def test_quick_path_equals_the_plain_path(folders, name):
    texts = mixed_texts()
    predictor = Predictor.load(folders / name, workers=None)  # as `textcls predict` loads it
    expected = plain_probabilities(folders / name, texts, predictor.max_length)
    got = predictor.probabilities(texts)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert (got.argmax(-1) == expected.argmax(-1)).all()
    predictions = predictor.predict(texts)
    assert [p.label for p in predictions] == [predictor.labels[i] for i in expected.argmax(-1)]


def test_onnx_folders_predict_without_transformers_tokenizer_loaded(folders):
    predictor = Predictor.load(folders / "bilstm-int8", workers=None)
    predictor.logits(mixed_texts(20))
    assert predictor._tokenizer is None  # the folder's tokenizer.json served alone
    assert predictor.tokenizer.convert_ids_to_tokens([2]) == ["[CLS]"]  # loaded when asked


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_int8_workers_change_no_number(folders, batch_size):
    texts = mixed_texts()
    one = Predictor.load(folders / "bilstm-int8", threads=1).logits(texts, batch_size)
    many = Predictor.load(folders / "bilstm-int8", workers=3)
    assert many.workers == 3
    np.testing.assert_array_equal(many.logits(texts, batch_size), one)


def test_batch_size_defaults_to_the_folders_own(folders, tmp_path):
    import json
    import shutil

    from textcls import DataError

    folder = tmp_path / "model"
    shutil.copytree(folders / "bilstm-int8", folder)
    assert Predictor.load(folder).batch_size == 64  # an ONNX folder's default
    assert Predictor.load(folders / "bilstm").batch_size == 32  # a PyTorch folder's
    meta = json.loads((folder / "textcls.json").read_text())
    (folder / "textcls.json").write_text(json.dumps({**meta, "inference": {"batch_size": 5}}))
    assert Predictor.load(folder).batch_size == 5
    (folder / "textcls.json").write_text(json.dumps({**meta, "inference": {"batch_size": "x"}}))
    with pytest.raises(DataError, match="inference.batch_size must be a positive integer"):
        Predictor.load(folder)
