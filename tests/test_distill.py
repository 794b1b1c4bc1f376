"""The distillation stage end to end on tiny models: strategies, cache, transfer sets, init."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from ingest_helpers import csv_text
from model_helpers import TINY_MODELS, TINY_TRAIN, toy_data, toy_rows
from textcls import ConfigError, config_from_dict
from textcls.model_folder import load_model_folder
from textcls.plugin_manager import get_plugins
from textcls.stages.distill import distill
from textcls.stages.evaluate import evaluate
from textcls.stages.finetune import fine_tune
from textcls.stages.ingest import ingest

TEACHER = {
    "model": {"name": "transformer", "params": TINY_MODELS["transformer"]},
    "tokenizer": {"name": "wordpiece", "params": {"vocab_size": 200, "min_frequency": 1}},
    "train": {"batch_size": 16, "max_length": 32, **TINY_TRAIN["transformer"]},
}
STUDENT_TRAIN = {"epochs": 2, "batch_size": 16, "learning_rate": 0.01, "max_length": 32}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-distill")
    raw, data_dir = toy_data(base, n=200)
    raw = {**raw, "teacher": TEACHER}
    config = config_from_dict(raw, base_dir=base)
    fine_tune(config, "teacher", data_dir, base / "teacher")
    return base, raw, data_dir


def student_config(raw, base, distiller, model="bilstm", tokenizer="word", **student):
    section = {
        "model": {"name": model, "params": TINY_MODELS[model]},
        "distill": distiller,
        "train": {**STUDENT_TRAIN, **TINY_TRAIN.get(model, {})},
        **student,
    }
    if tokenizer:
        section["tokenizer"] = {"name": tokenizer, "params": {"min_frequency": 1}}
    return config_from_dict({**raw, "student": section}, base_dir=base)


def meta(folder: Path) -> dict:
    return json.loads((folder / "textcls.json").read_text())


@pytest.mark.parametrize(
    ("strategy", "epochs"),
    # regressing raw logits gives smaller gradients than KL on softened ones: more epochs
    [("logits-kl", 2), ("logits-mse", 6)],
)
def test_logit_strategies_with_the_students_own_tokenizer(toy, strategy, epochs):
    base, raw, data_dir = toy
    config = student_config(
        raw, base, {"name": strategy}, train={**STUDENT_TRAIN, "epochs": epochs}
    )
    out = base / f"student-{strategy}"
    distill(config, data_dir, base / "teacher", out)
    info = meta(out)
    assert info["distill"]["distiller"]["name"] == strategy
    assert info["tokenizer"]["name"] == "word"
    assert info["metrics"]["validation_accuracy"] >= 0.85


def test_teacher_logits_are_computed_once_and_cached(toy):
    base, raw, data_dir = toy
    cache = base / "logit-cache"
    config = student_config(raw, base, {"name": "logits-kl"})
    distill(config, data_dir, base / "teacher", base / "cached-a", cache_dir=cache)
    files = list(cache.glob("*.safetensors"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    (first,) = meta(base / "cached-a")["distill"]["transfer"]["teacher_pass"]
    assert first["texts"] == 200 and first["scored"] == first["distinct"] > 0
    assert first["seconds"] > 0 and first["texts_per_s"] > 0
    other = student_config(raw, base, {"name": "logits-mse"})
    distill(other, data_dir, base / "teacher", base / "cached-b", cache_dir=cache)
    assert list(cache.glob("*.safetensors")) == files
    assert files[0].stat().st_mtime_ns == stamp  # reused, not recomputed
    (again,) = meta(base / "cached-b")["distill"]["transfer"]["teacher_pass"]
    assert again["scored"] == 0 and again["texts_per_s"] is None


def test_the_cache_scores_only_texts_it_has_not_seen(toy):
    """Keyed by content: a larger transfer set reuses every row a smaller one scored."""
    from textcls.distillation.teacher_outputs import cached_teacher_logits, teacher_logits

    base, _, _ = toy
    cache = base / "content-cache"
    teacher = base / "teacher"
    small = ["good plot", "awful film", "good plot"]
    logits, stats = cached_teacher_logits(teacher, small, cache, max_length=32)
    assert (stats.texts, stats.distinct, stats.scored) == (3, 2, 2)
    assert torch.equal(logits[0], logits[2])
    large = ["a dull film", *small, "great plot"]
    again, stats = cached_teacher_logits(teacher, large, cache, max_length=32)
    assert (stats.texts, stats.distinct, stats.scored) == (5, 4, 2)
    assert torch.equal(again[1:4], logits)
    loaded = load_model_folder(teacher)
    direct = teacher_logits(loaded.model, loaded.tokenizer, large, max_length=32)
    assert torch.allclose(again, direct, atol=1e-5)
    _, stats = cached_teacher_logits(teacher, list(reversed(large)), cache, max_length=32)
    assert stats.scored == 0


def test_augmented_transfer_set_reaches_the_multiplier(toy):
    base, raw, data_dir = toy
    config = student_config(
        raw,
        base,
        {"name": "logits-kl"},
        transfer={"multiplier": 3.0, "augment": {"mask_prob": 0.2}},
    )
    out = base / "student-augmented"
    distill(config, data_dir, base / "teacher", out, cache_dir=base / "augmented-cache")
    transfer = meta(out)["distill"]["transfer"]
    assert {k: transfer[k] for k in ("train", "unlabeled", "augmented", "total")} == {
        "train": 200,
        "unlabeled": 0,
        "augmented": 400,
        "total": 600,
    }
    (teacher_pass,) = transfer["teacher_pass"]
    assert teacher_pass["texts"] == 600
    assert teacher_pass["scored"] == teacher_pass["distinct"] <= 600
    # the evaluation report shows the transfer set and the teacher pass beside the student
    report_dir = evaluate(data_dir, {"student": out}, base / "eval-augmented", measure_cost=False)
    report = (Path(report_dir.path) / "report.md").read_text()
    assert "**student**: transfer set: 600 texts (train 200, augmented 400); teacher pass: " in (
        report
    )


def test_max_size_stops_augmentation_but_keeps_the_train_split(toy):
    base, raw, data_dir = toy
    capped = student_config(
        raw,
        base,
        {"name": "logits-kl"},
        transfer={"multiplier": 8.0, "augment": {}, "max_size": 500},
    )
    out = base / "student-capped"
    distill(capped, data_dir, base / "teacher", out, cache_dir=base / "augmented-cache")
    transfer = meta(out)["distill"]["transfer"]
    assert (transfer["train"], transfer["augmented"], transfer["total"]) == (200, 300, 500)
    # a cap below the train split adds nothing and drops nothing
    below = student_config(
        raw,
        base,
        {"name": "logits-kl"},
        transfer={"multiplier": 8.0, "augment": {}, "max_size": 50},
    )
    distill(
        below,
        data_dir,
        base / "teacher",
        base / "student-below",
        cache_dir=base / "augmented-cache",
    )
    transfer = meta(base / "student-below")["distill"]["transfer"]
    assert (transfer["train"], transfer["augmented"], transfer["total"]) == (200, 0, 200)


def test_multiplier_without_augmentation_is_a_config_error(toy):
    base, raw, data_dir = toy
    config = student_config(raw, base, {"name": "logits-kl"}, transfer={"multiplier": 2.0})
    with pytest.raises(ConfigError, match="add student.transfer.augment"):
        distill(config, data_dir, base / "teacher", base / "nope")


def test_unlabelled_text_joins_the_transfer_set(toy, write):
    base, raw, data_dir = toy
    (base / "extra.csv").write_text("text\n" + "\n".join(f"good plot {i}" for i in range(50)))
    config = student_config(raw, base, {"name": "logits-kl"}, transfer={"unlabeled": "extra.csv"})
    out = base / "student-unlabeled"
    distill(config, data_dir, base / "teacher", out)
    assert meta(out)["distill"]["transfer"]["total"] == 250


def test_hidden_state_strategy_needs_the_teachers_tokenizer(toy):
    base, raw, data_dir = toy
    config = student_config(raw, base, {"name": "hidden-mse"})
    with pytest.raises(ConfigError, match="needs the teacher's tokenizer"):
        distill(config, data_dir, base / "teacher", base / "nope2")


def test_teacher_layers_init_with_hidden_and_attention_strategies(toy):
    base, raw, data_dir = toy
    teacher = load_model_folder(base / "teacher")
    for strategy in ("hidden-mse", "attention-kl"):
        config = student_config(
            raw,
            base,
            {"name": strategy, "params": {"layer_map": [[-1, -1]]}},
            model="transformer",
            tokenizer=None,
            init="teacher-layers",
            init_layers=[1],
        )
        out = base / f"student-{strategy}"
        distill(config, data_dir, base / "teacher", out)
        student = load_model_folder(out)
        assert student.model.config.num_hidden_layers == 1
        assert student.tokenizer.get_vocab() == teacher.tokenizer.get_vocab()
        assert meta(out)["metrics"]["validation_accuracy"] >= 0.8


def test_teacher_embeddings_start_the_student_embedding(toy):
    base, raw, data_dir = toy
    teacher = load_model_folder(base / "teacher")
    width = teacher.model.get_input_embeddings().weight.shape[1]
    config = student_config(
        raw,
        base,
        {"name": "logits-kl"},
        model="bilstm",
        tokenizer=None,
        init="teacher-embeddings",
    )
    config.student.model.params["embedding_dim"] = width
    out = base / "student-embeddings"
    distill(config, data_dir, base / "teacher", out)
    student = load_model_folder(out)
    assert student.tokenizer.get_vocab() == teacher.tokenizer.get_vocab()
    assert (
        student.model.get_input_embeddings().weight.shape
        == teacher.model.get_input_embeddings().weight.shape
    )
    wrong = student_config(
        raw, base, {"name": "logits-kl"}, model="bilstm", tokenizer=None, init="teacher-embeddings"
    )
    with pytest.raises(ConfigError, match="set student.model.params.embedding_dim: 32"):
        distill(wrong, data_dir, base / "teacher", base / "wrong-width")


def test_teacher_layers_copies_the_chosen_layer():
    from textcls.distillation.layers import spread_layers, student_from_teacher_layers

    teacher = load_model_folder_or_tiny()
    student = student_from_teacher_layers(teacher, {}, [1])
    t = teacher.bert.encoder.layer[1].attention.self.query.weight
    s = student.bert.encoder.layer[0].attention.self.query.weight
    assert torch.equal(t, s)
    assert torch.equal(
        teacher.bert.embeddings.word_embeddings.weight,
        student.bert.embeddings.word_embeddings.weight,
    )
    assert spread_layers(12, 6) == [0, 2, 4, 7, 9, 11]  # DistilBERT-like spread
    with pytest.raises(ConfigError, match="keeps the teacher's width"):
        student_from_teacher_layers(teacher, {"hidden_size": 16}, None)


def load_model_folder_or_tiny():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    return BertForSequenceClassification(
        BertConfig(
            vocab_size=30,
            hidden_size=8,
            num_hidden_layers=3,
            num_attention_heads=2,
            intermediate_size=16,
        )
    )


def test_multi_teacher_averages_two_teachers(toy):
    base, raw, data_dir = toy
    second = config_from_dict({**raw, "seed": 77, "teacher": TEACHER}, base_dir=base)
    fine_tune(second, "teacher", data_dir, base / "teacher-2")
    config = student_config(
        raw, base, {"name": "multi-teacher", "params": {"teachers": [str(base / "teacher-2")]}}
    )
    out = base / "student-multi"
    distill(config, data_dir, base / "teacher", out)
    assert meta(out)["distill"]["teachers"] == [str(base / "teacher"), str(base / "teacher-2")]


def test_student_without_distiller_is_told_to_fine_tune(toy):
    base, raw, data_dir = toy
    config = student_config(raw, base, None)
    with pytest.raises(ConfigError, match="trains on hard labels"):
        distill(config, data_dir, base / "teacher", base / "x")


# -- soft labels carry information ----------------------------------------------------------

SIGNALS = 40


def signal_rows(n: int, seed: int, noisy: bool) -> list[tuple[str, str]]:
    """Word ``s{i}`` makes label 1 with probability i / (SIGNALS - 1): the soft label is the
    information; a hard label is one noisy draw of it (or, for the clean test, its argmax)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        i = rng.randrange(SIGNALS)
        p = i / (SIGNALS - 1)
        label = int(rng.random() < p) if noisy else int(p > 0.5)
        if not noisy and i in (SIGNALS // 2 - 1, SIGNALS // 2):
            continue  # too close to call
        rows.append((f"filler s{i} text", str(label)))
    return rows


def accuracy(folder: Path, rows) -> float:
    loaded = load_model_folder(folder)
    encoded = loaded.tokenizer([t for t, _ in rows], padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = loaded.model(**encoded).logits.argmax(-1).tolist()
    names = loaded.labels
    return sum(names[p] == y for p, (_, y) in zip(predicted, rows, strict=True)) / len(rows)


def test_soft_labels_beat_hard_labels_on_a_task_where_they_carry_information(tmp_path):
    def ingest_rows(folder, rows):
        folder.mkdir()
        (folder / "train.csv").write_text(csv_text(rows))
        (folder / "val.csv").write_text(csv_text(signal_rows(200, 9, noisy=True)))
        raw = {
            "name": "signals",
            "seed": 3,
            "data": {
                "train": "train.csv",
                "validation": "val.csv",
                "test": "val.csv",
                "drop_duplicates": False,
                "leakage": "warn",
            },
        }
        ingest(config_from_dict(raw, base_dir=folder), folder / "data")
        return raw

    bow = {"name": "bow", "params": {"embedding_dim": 8, "ngram": 1}}
    word = {"name": "word", "params": {"min_frequency": 1}}
    train = {"epochs": 30, "batch_size": 16, "learning_rate": 0.05, "max_length": 8}
    big = ingest_rows(tmp_path / "big", signal_rows(4000, 1, noisy=True))
    teacher_config = config_from_dict(
        {**big, "teacher": {"model": bow, "tokenizer": word, "train": {**train, "epochs": 5}}},
        base_dir=tmp_path / "big",
    )
    fine_tune(teacher_config, "teacher", tmp_path / "big" / "data", tmp_path / "teacher")

    small = ingest_rows(tmp_path / "small", signal_rows(120, 2, noisy=True))
    hard_config = config_from_dict(
        {**small, "student": {"model": bow, "tokenizer": word, "train": train}},
        base_dir=tmp_path / "small",
    )
    fine_tune(hard_config, "student", tmp_path / "small" / "data", tmp_path / "hard")
    soft_config = config_from_dict(
        {
            **small,
            "student": {
                "model": bow,
                "tokenizer": word,
                "train": train,
                "distill": {"name": "logits-kl", "params": {"alpha": 1.0, "temperature": 1.0}},
            },
        },
        base_dir=tmp_path / "small",
    )
    distill(soft_config, tmp_path / "small" / "data", tmp_path / "teacher", tmp_path / "soft")

    clean = signal_rows(2000, 5, noisy=False)
    hard, soft = accuracy(tmp_path / "hard", clean), accuracy(tmp_path / "soft", clean)
    assert soft > hard + 0.03, (soft, hard)


def test_teacher_word_vectors_are_the_teachers_reading_of_each_word(toy, monkeypatch):
    """At the teacher's own width PCA only centres and rotates: the student's word rows keep
    the teacher's distances between words (one common scale); special tokens, and words the
    teacher reads only as its unknown token, keep their random rows."""
    from textcls.distillation import word_vectors
    from textcls.training.builders import build_model, build_tokenizer

    base, raw, data_dir = toy
    teacher = load_model_folder(base / "teacher")
    width = teacher.model.get_input_embeddings().weight.shape[1]
    config = student_config(raw, base, {"name": "logits-kl"}, init="teacher-word-vectors")
    section = config.student
    section.model.params["embedding_dim"] = width
    toy_texts = [text for text, _ in toy_rows(60, seed=3)]
    toy_words = sorted({w for text in toy_texts for w in text.split()})
    # more words than the teacher is wide (pairs of toy words: pieces it knows), so PCA keeps
    # every direction; and digits, which the toy teacher's vocabulary never saw
    pairs = [a + b for a in toy_words for b in toy_words if a != b][:60]
    texts = [*toy_texts, " ".join(pairs), "7 8 9"]
    plugins = get_plugins()
    tokenizer, _ = build_tokenizer(
        section.model, section.tokenizer, lambda: iter(texts), section.train, plugins
    )
    model = build_model(section.model, tokenizer, ["neg", "pos"], plugins)
    before = model.get_input_embeddings().weight.detach().clone()
    monkeypatch.setattr(word_vectors, "BATCH_SIZE", 7)  # several length-sorted batches
    done = word_vectors.init_from_teacher_words(
        teacher.model, teacher.tokenizer, model, tokenizer, seed=0
    )

    vocabulary = tokenizer.get_vocab()
    special = sorted(tokenizer.all_special_ids)
    unk = teacher.tokenizer.unk_token_id

    def unknown_to_teacher(word: str) -> bool:
        return set(teacher.tokenizer(word, add_special_tokens=False)["input_ids"]) == {unk}

    unknown = sorted(i for w, i in vocabulary.items() if i not in special and unknown_to_teacher(w))
    assert {vocabulary[d] for d in "789"} <= set(unknown)
    words = sorted((i, w) for w, i in vocabulary.items() if i not in special + unknown)
    assert done == {**done, "words": len(words), "unknown_to_teacher": len(unknown)}
    after = model.get_input_embeddings().weight.detach()
    assert torch.equal(after[special + unknown], before[special + unknown])
    read = torch.from_numpy(
        word_vectors.teacher_word_vectors(teacher.model, teacher.tokenizer, [w for _, w in words])
    )
    # one word by hand: its pieces' last hidden states, [CLS] and [SEP] left out
    first = teacher.tokenizer(words[0][1], return_tensors="pt")
    with torch.no_grad():
        states = teacher.model(**first, output_hidden_states=True).hidden_states[-1][0]
    assert torch.allclose(read[0], states[1:-1].mean(0), atol=1e-5)
    rows = after[[i for i, _ in words]]
    exact = "donot_use_mm_for_euclid_dist"
    student_distance = torch.cdist(rows.double(), rows.double(), compute_mode=exact)
    teacher_distance = torch.cdist(read.double(), read.double(), compute_mode=exact)
    apart = teacher_distance > 1e-3 * teacher_distance.max()
    assert apart.sum() == len(words) * (len(words) - 1)  # no two words read alike
    ratio = student_distance[apart] / teacher_distance[apart]
    assert torch.allclose(ratio, ratio.median().expand_as(ratio), rtol=1e-3)
    # the rows' spread is the random initialisation's, so the tuned learning rate still fits
    assert rows.std().item() == pytest.approx(before[[i for i, _ in words]].std().item(), rel=1e-4)


def test_teacher_word_vectors_through_the_stage(toy):
    base, raw, data_dir = toy
    config = student_config(raw, base, {"name": "logits-kl"}, init="teacher-word-vectors")
    out = base / "student-word-vectors"
    distill(config, data_dir, base / "teacher", out)
    recorded = meta(out)["distill"]["teacher_word_vectors"]
    student = load_model_folder(out)
    specials = set(student.tokenizer.all_special_ids)
    non_special = set(student.tokenizer.get_vocab().values()) - specials
    assert recorded["words"] + recorded["unknown_to_teacher"] == len(non_special)
    assert recorded["words"] > 0
    assert meta(out)["metrics"]["validation_accuracy"] >= 0.8
    # wider than the teacher (32) cannot come from its vectors: said, with the limit, before
    # the teacher scores a single text (no logits cached)
    wide = student_config(raw, base, {"name": "logits-kl"}, init="teacher-word-vectors")
    wide.student.model.params["embedding_dim"] = 64
    cache = base / "too-wide-cache"
    with pytest.raises(ConfigError, match=r"embedding_dim is 64; set it to at most 32"):
        distill(wide, data_dir, base / "teacher", base / "student-too-wide", cache_dir=cache)
    assert not cache.exists() or not any(cache.rglob("*"))
    assert not [
        p for p in base.iterdir() if p.name.startswith((".student-too-wide", "student-too-wide"))
    ]


@pytest.mark.parametrize(
    ("teacher_config", "refused"),
    [
        ({"hidden_size": 32}, True),  # BERT family
        ({"dim": 32}, True),  # DistilBERT
        ({"hidden_size": 64}, False),  # as wide as the student: PCA keeps every direction
        ({"text_config": {"hidden_size": 32}}, False),  # no top-level width: checked later
        (None, False),  # no config.json: checked later
        ([32], False),  # not a JSON object: checked later (loading reports it)
    ],
)
def test_word_vector_width_is_checked_from_the_teachers_config(tmp_path, teacher_config, refused):
    from textcls.config import StudentConfig
    from textcls.stages.distill import _check_word_vector_width

    section = StudentConfig.model_validate(
        {
            "model": {"name": "bilstm", "params": {"embedding_dim": 64}},
            "distill": {"name": "logits-kl"},
            "init": "teacher-word-vectors",
        }
    )
    if teacher_config is not None:
        (tmp_path / "config.json").write_text(json.dumps(teacher_config))
    if refused:
        with pytest.raises(ConfigError, match=r"\(\w+: 32 in .*config\.json\).* at most 32"):
            _check_word_vector_width(section, tmp_path, get_plugins())
    else:
        _check_word_vector_width(section, tmp_path, get_plugins())
