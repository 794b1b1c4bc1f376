"""Explanations: integrated gradients' completeness, occlusion on PyTorch and ONNX int8 alike,
the deletion test, the evaluation report's section, and `textcls explain` (formats and errors).

The models are trained on a trivially separable toy set (the label is which word list a text
draws from), so what a faithful explanation must find is known: the sentiment word.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from model_helpers import NEGATIVE, POSITIVE, toy_data, with_student
from pydantic import BaseModel
from textcls import (
    ConfigError,
    DataError,
    PluginError,
    UnknownComponentError,
    config_from_dict,
    hookimpl,
)
from textcls.config import QuantizeStep
from textcls.explanation.explain import explain_texts
from textcls.explanation.faithfulness import deletion_drops, faithfulness
from textcls.explanation.subject import ExplainSubject
from textcls.explanation.words import merge_token_scores, remove_words, split_words
from textcls.flows.cli import app
from textcls.registry import Registry
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize
from typer.testing import CliRunner

runner = CliRunner()
TINY_BERT = {
    "hidden_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "max_position_embeddings": 64,
    "dropout": 0.0,
}

#: One sentiment word among filler: the word a faithful explanation puts first.
SIMPLE = [
    ("the movie was superb", "superb"),
    ("the plot is awful", "awful"),
    ("a film and a story and a lovely plot", "lovely"),
    ("the story was dull", "dull"),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A BiLSTM and its ONNX int8, and a GRU (the report's "teacher"): seconds to train."""
    base = tmp_path_factory.mktemp("toy-explain")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bilstm", epochs=8), "student", data_dir, base / "bilstm")
    fine_tune(with_student(raw, base, "gru", epochs=8), "student", data_dir, base / "gru")
    quantize(QuantizeStep(name="ort-dynamic-int8"), base / "bilstm", data_dir, base / "bilstm-int8")
    return {"base": base, "raw": raw, "data": data_dir}


@pytest.fixture(scope="module")
def bert(models):
    """A one-layer BERT (the teacher's architecture), trained without dropout to converge."""
    base = models["base"]
    raw = {
        **models["raw"],
        "student": {
            "model": {"name": "transformer", "params": TINY_BERT},
            "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
            "train": {
                "epochs": 6,
                "batch_size": 16,
                "learning_rate": 0.003,
                "warmup_ratio": 0.1,
                "max_length": 32,
            },
        },
    }
    fine_tune(config_from_dict(raw, base_dir=base), "student", models["data"], base / "bert")
    return base / "bert"


# -- words -----------------------------------------------------------------------------------


def test_words_keep_contractions_and_split_punctuation():
    words = [w.text for w in split_words("simply ca n't recommend it's enough, twice!")]
    assert words == ["simply", "ca", "n't", "recommend", "it's", "enough", ",", "twice", "!"]


def test_cjk_ideographs_are_words_of_their_own_as_bert_splits_them():
    # Chinese has no spaces: a run of word characters would make a whole clause one "word"
    # and an explanation of a ChnSentiCorp model would score one blob per clause.
    text = "这部电影很好看，演员也不错 NLP's 東京タワー"
    words = [w.text for w in split_words(text)]
    assert words[:8] == ["这", "部", "电", "影", "很", "好", "看", "，"]
    assert words[-4:] == ["NLP's", "東", "京", "タワー"]  # kana is not split, as in BERT

    from textcls import get_plugins
    from transformers import AutoTokenizer

    folder = get_plugins().resolve_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    encoded = AutoTokenizer.from_pretrained(folder)("很好看", return_offsets_mapping=True)
    scores = np.arange(len(encoded["input_ids"]), dtype=float)
    assert merge_token_scores("很好看", encoded["offset_mapping"], scores) == [1.0, 2.0, 3.0]


def test_removing_words_cuts_them_out_of_the_original_text():
    text = "a  gorgeous, witty film"
    words = split_words(text)
    assert remove_words(text, words, {1, 3}) == "a , film"
    assert remove_words(text, words, set()) == text
    assert remove_words(text, words, set(range(len(words)))) == ""


def test_subword_pieces_merge_into_their_word():
    from textcls import get_plugins
    from transformers import AutoTokenizer

    folder = get_plugins().resolve_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    text = "unbelievably gorgeous cinematography"
    encoded = tokenizer(text, return_offsets_mapping=True)
    pieces = len(encoded["input_ids"]) - 2
    assert pieces > 3  # the rare words are split into several pieces
    scores = np.arange(len(encoded["input_ids"]), dtype=float)
    merged = merge_token_scores(text, encoded["offset_mapping"], scores)
    assert len(merged) == 3
    # special tokens ([CLS] first, [SEP] last) belong to no word; every piece to one
    assert sum(merged) == pytest.approx(scores[1:-1].sum())
    first_word_pieces = [
        i
        for i, (s, e) in enumerate(encoded["offset_mapping"])
        if e > s and e <= len("unbelievably")
    ]
    assert merged[0] == pytest.approx(scores[first_word_pieces].sum())


# -- integrated gradients --------------------------------------------------------------------


def assert_complete(folder):
    """Integrated gradients' completeness: per-word scores sum to the target logit's gap."""
    subject = ExplainSubject(folder)
    texts = [text for text, _ in SIMPLE]
    explanations = explain_texts(subject, texts, method="integrated-gradients")
    model, tokenizer = subject.model, subject.tokenizer
    gaps = []
    for explanation in explanations:
        encoded = tokenizer(explanation.text, return_tensors="pt", return_special_tokens_mask=True)
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        pad = torch.full_like(ids, tokenizer.pad_token_id)
        baseline = torch.where(encoded["special_tokens_mask"].bool(), ids, pad)
        target = subject.labels.index(explanation.target)
        with torch.no_grad():
            gap = (
                model(input_ids=ids, attention_mask=mask).logits[0, target]
                - model(input_ids=baseline, attention_mask=mask).logits[0, target]
            ).item()
        total = sum(t.attribution for t in explanation.tokens)
        assert total == pytest.approx(gap, rel=0.05, abs=0.01)
        assert abs(explanation.details["convergence_delta"]) < 0.05 * abs(gap) + 0.01
        gaps.append(abs(gap))
    assert max(gaps) > 0.3  # trained models: real gaps to account for, not 0 == 0


def test_integrated_gradients_is_complete_on_a_bilstm(models):
    assert_complete(models["base"] / "bilstm")


@pytest.mark.slow
def test_integrated_gradients_is_complete_on_a_bert(bert):
    assert_complete(bert)


@pytest.mark.parametrize("folder", ["bilstm", "gru"])
def test_integrated_gradients_finds_the_sentiment_word(models, folder):
    subject = ExplainSubject(models["base"] / folder)
    explanations = explain_texts(subject, [t for t, _ in SIMPLE], method="integrated-gradients")
    for explanation, (_, word) in zip(explanations, SIMPLE, strict=True):
        assert explanation.top(1)[0].word == word, explanation.tokens


# -- occlusion -------------------------------------------------------------------------------


def test_occlusion_ranks_the_same_top_word_on_pytorch_and_onnx_int8(models):
    texts = [text for text, _ in SIMPLE]
    pytorch = explain_texts(ExplainSubject(models["base"] / "bilstm"), texts, method="occlusion")
    int8_subject = ExplainSubject(models["base"] / "bilstm-int8")
    assert int8_subject.kind == "onnx"
    int8 = explain_texts(int8_subject, texts, method="occlusion")
    for a, b, (_, word) in zip(pytorch, int8, SIMPLE, strict=True):
        assert a.label == b.label
        assert a.top(1)[0].word == b.top(1)[0].word == word


def test_occlusion_scores_are_the_probability_drop_when_the_word_is_removed(models):
    subject = ExplainSubject(models["base"] / "bilstm-int8")
    text = "the movie was superb"
    [explanation] = explain_texts(subject, [text], method="occlusion")
    target = subject.labels.index(explanation.target)
    before = subject.probabilities([text])[0, target]
    after = subject.probabilities([remove_words(text, split_words(text), {3})])[0, target]
    # dynamic int8 quantizes activations per batch, so batch-mates move the 4th decimal
    assert explanation.tokens[3].attribution == pytest.approx(before - after, abs=2e-3)
    assert explanation.tokens[3].attribution > 0.1


def test_occlusion_scores_words_past_max_length_zero_without_running_them(models):
    class Recording(ExplainSubject):
        """The real subject, remembering how many texts each prediction call got."""

        calls: list[int] = []

        def probabilities(self, texts, batch_size=64):
            self.calls.append(len(texts))
            return super().probabilities(texts, batch_size)

    subject = Recording(models["base"] / "bilstm-int8")
    filler = "the story was a film and a plot "
    text = "the movie was superb " + filler * (subject.max_length // 2)
    words = split_words(text)
    window = subject.tokenizer(text, truncation=True, max_length=subject.max_length)
    assert len(words) > len(window["input_ids"])  # the text runs past max_length
    [attribution] = subject_explainer("occlusion").explain(subject, [text], [1])
    seen = [i for i, w in enumerate(words) if w.start < len("the movie was superb ")]
    assert sum(subject.calls) < len(words)  # one pass per seen word, not per word
    assert all(v == 0.0 for v in attribution.scores[len(window["input_ids"]) :])
    assert max(attribution.scores[i] for i in seen) > 0.1  # "superb" still counts


def subject_explainer(name):
    from textcls import get_plugins

    return get_plugins().component("explainer", name).create(None)


def test_a_target_label_explains_toward_that_label(models):
    subject = ExplainSubject(models["base"] / "bilstm")
    [toward_neg] = explain_texts(subject, ["the movie was superb"], target="neg")
    assert toward_neg.label == "pos" and toward_neg.target == "neg"
    assert toward_neg.target_probability < 0.5
    assert min(toward_neg.tokens, key=lambda t: t.attribution).word == "superb"


# -- faithfulness ----------------------------------------------------------------------------


def test_deletion_of_the_top_words_drops_more_than_random_deletion(models):
    subject = ExplainSubject(models["base"] / "bilstm-int8")
    texts = [f"the {w} film and the story was a plot" for w in POSITIVE + NEGATIVE]
    explanations = explain_texts(subject, texts, method="occlusion")
    top, random = deletion_drops(subject, explanations, k=3)
    assert top.shape == random.shape == (len(texts), 3)
    result = faithfulness(subject, explanations, k=3)
    assert result.aopc == pytest.approx(top.mean())
    assert result.beats_random and result.difference_ci95[0] > 0
    assert result.aopc_ci95[0] <= result.aopc <= result.aopc_ci95[1]


# -- errors ----------------------------------------------------------------------------------


def test_bad_requests_are_refused_before_any_model_runs(models):
    pytorch = ExplainSubject(models["base"] / "bilstm")
    int8 = ExplainSubject(models["base"] / "bilstm-int8")
    with pytest.raises(UnknownComponentError, match="Did you mean 'occlusion'"):
        explain_texts(pytorch, ["good"], method="oclusion")
    with pytest.raises(ConfigError, match="Use --method occlusion"):
        explain_texts(int8, ["good"], method="integrated-gradients")
    with pytest.raises(DataError, match="labels are: neg, pos"):
        explain_texts(pytorch, ["good"], target="neutral")
    with pytest.raises(DataError, match="text 2 is empty"):
        explain_texts(pytorch, ["good", "  "])


def test_given_probabilities_give_the_same_explanations_without_predicting_again(
    models, monkeypatch
):
    subject = ExplainSubject(models["base"] / "bilstm")
    texts = [text for text, _ in SIMPLE]
    known = subject.probabilities(texts)
    predicting = explain_texts(subject, texts, method="integrated-gradients")
    monkeypatch.setattr(subject.predictor, "logits", None)  # a second prediction would fail
    given = explain_texts(subject, texts, method="integrated-gradients", probabilities=known)
    monkeypatch.undo()
    assert [(e.label, e.probability, e.tokens) for e in given] == [
        (e.label, e.probability, e.tokens) for e in predicting
    ]
    with pytest.raises(ValueError, match="one row per text"):
        explain_texts(subject, texts, method="integrated-gradients", probabilities=known[:1])


# -- the evaluation report -------------------------------------------------------------------


def test_the_report_explains_mistakes_and_teacher_student_disagreement(models, bert, tmp_path):
    from textcls.stages.evaluate import evaluate

    base = models["base"]
    variants = {
        "teacher": bert,
        "student": base / "bilstm",
        "student-int8": base / "bilstm-int8",
    }
    ref = evaluate(models["data"], variants, tmp_path / "eval", split="test", measure_cost=False)
    folder = tmp_path / "eval"
    report = json.loads((folder / "report.json").read_text())
    section = report["explanations"]
    assert "error" not in section, section
    reasons = [item["reason"] for item in section["items"]]
    assert sum("teacher and student disagree" in r for r in reasons) == 3
    for item in section["items"]:
        assert set(item["models"]) == set(variants)
        assert item["models"]["student-int8"]["method"] == "occlusion"
        assert item["models"]["teacher"]["method"] == "integrated-gradients"
        words = {w.text for w in split_words(item["text"])}
        assert all(word in words for m in item["models"].values() for word, _ in m["top"])
    markdown = (folder / "report.md").read_text()
    assert "## Explanations" in markdown and "[`explanations.html`]" in markdown
    page = (folder / section["html"]).read_text()
    assert all(item["text"].split()[0] in page for item in section["items"])
    assert ref.path == str(folder.resolve())


def test_explanations_switched_off_leave_a_note_and_no_page(models, bert, tmp_path, monkeypatch):
    """``evaluate.explanations: false`` (``textcls evaluate --no-explain``): no explainer runs,
    report.json and report.md say the section was switched off, and no page is written."""
    from textcls.explanation import report_section
    from textcls.pipeline_plan import RunLayout, plan_stages
    from textcls.plugin_manager import get_plugins
    from textcls.stages.evaluate import EXPLANATIONS_OFF, evaluate

    def must_not_run(*args, **kwargs):
        raise AssertionError("explanations were switched off")

    monkeypatch.setattr(report_section, "explain_for_report", must_not_run)
    variants = {"teacher": bert, "student": models["base"] / "bilstm"}
    folder = tmp_path / "eval"
    evaluate(models["data"], variants, folder, measure_cost=False, explanations=False)
    report = json.loads((folder / "report.json").read_text())
    assert report["explanations"] == {"html": None, "items": [], "skipped": EXPLANATIONS_OFF}
    assert not (folder / "explanations.html").exists()
    assert f"Not computed: {EXPLANATIONS_OFF}." in (folder / "report.md").read_text()
    assert set(report["variants"]) == set(variants)  # the rest of the evaluation is whole

    # the pipeline key reaches the stage (and is part of its cache key)
    (tmp_path / "train.csv").write_text("text,label\ngood,pos\nbad,neg\n")

    def evaluate_step(**evaluate_section: bool):
        raw = {
            "name": "t",
            "data": {"train": "train.csv"},
            "teacher": {"model": {"name": "bow"}},
            "evaluate": evaluate_section,
        }
        config = config_from_dict(raw, base_dir=tmp_path)
        plan = plan_stages(config, RunLayout(tmp_path / "runs", "t", "r1"), get_plugins())
        return next(step for step in plan if step.name == "evaluate")

    off, on = evaluate_step(explanations=False), evaluate_step()
    assert off.params["explanations"] is False and on.params["explanations"] is True
    records = {name: {"ref": {"sha256": name}} for name in on.needs.values()}
    assert off.key(records, 13) != on.key(records, 13)


@pytest.mark.parametrize("split", ["test", "validation"])
def test_the_report_reuses_evaluations_validation_predictions_and_its_section_is_unchanged(
    models, bert, tmp_path, monkeypatch, split
):
    """The disagreements read the validation probabilities evaluation already computed (for
    choosing, or as the reported split), and the explained texts' probabilities are the
    evaluation's own: no model predicts anything for the section again, and the section is
    the one that predicting validation again gives."""
    import datasets
    from textcls.explanation.report_section import explain_for_report
    from textcls.predictor import Predictor
    from textcls.stages.evaluate import evaluate

    variants = {"teacher": bert, "student": models["base"] / "bilstm"}
    dataset = datasets.load_from_disk(str(models["data"]))
    validation = list(dataset["validation"]["text"])
    predicted: list[list[str]] = []
    original = ExplainSubject.probabilities

    def recording(self, texts, batch_size=64):
        predicted.append(list(texts))
        return original(self, texts, batch_size)

    monkeypatch.setattr(ExplainSubject, "probabilities", recording)
    evaluate(models["data"], variants, tmp_path / "eval", split=split, measure_cost=False)
    # nothing predicted again: neither validation nor the explained texts, which evaluation
    # scored already
    assert predicted == []
    section = json.loads((tmp_path / "eval" / "report.json").read_text())["explanations"]
    assert sum("disagree" in item["reason"] for item in section["items"]) == 3

    texts, y = list(dataset[split]["text"]), np.asarray(dataset[split]["label"])
    reported = {n: Predictor.load(f).probabilities(texts, 64) for n, f in variants.items()}
    names = Predictor.load(bert).labels
    (tmp_path / "again").mkdir()
    again = explain_for_report(tmp_path / "again", variants, texts, y, reported, names, validation)
    assert validation in predicted  # this time the section predicted validation itself
    assert json.loads(json.dumps(again)) == section
    assert (tmp_path / "again" / "explanations.html").read_text() == (
        tmp_path / "eval" / "explanations.html"
    ).read_text()


# -- the CLI ---------------------------------------------------------------------------------


def test_json_lists_each_text_with_its_words_in_order(models):
    result = runner.invoke(
        app,
        [
            "explain",
            str(models["base"] / "bilstm"),
            "the movie was superb",
            "the plot is awful",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [p["label"] for p in payload] == ["pos", "neg"]
    first = payload[0]
    assert {"text", "label", "probability", "method", "tokens"} <= set(first)
    assert first["method"] == "integrated-gradients"
    assert [t["word"] for t in first["tokens"]] == ["the", "movie", "was", "superb"]
    assert max(first["tokens"], key=lambda t: t["attribution"])["word"] == "superb"


def test_text_format_prints_label_words_and_top_words(models):
    result = runner.invoke(app, ["explain", str(models["base"] / "bilstm-int8"), "a lovely film"])
    assert result.exit_code == 0, result.output
    assert "pos (" in result.stdout and "by occlusion" in result.stdout
    assert "a lovely film" in result.stdout and "top: lovely" in result.stdout


def test_inputs_from_a_file_and_html_to_a_file(models, tmp_path):
    inputs = tmp_path / "texts.txt"
    inputs.write_text("the movie was superb\nthe plot is <b>awful</b> & sad\n")
    page = tmp_path / "out" / "why.html"
    result = runner.invoke(
        app, ["explain", str(models["base"] / "gru"), "-f", str(inputs), "-o", str(page)]
    )
    assert result.exit_code == 0, result.output
    content = page.read_text()
    assert content.startswith("<!doctype html>") and "<style>" in content
    assert "&lt;b&gt;" in content and "<b>awful" not in content  # text is escaped
    assert "http://" not in content and "https://" not in content and " src=" not in content


def test_a_registry_reference_is_explained(models, tmp_path):
    base = models["base"]
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        yaml.safe_dump({**models["raw"], "registry": {"path": str(tmp_path / "reg")}})
    )
    registry = Registry(tmp_path / "reg", models["raw"]["name"])
    registry.register(
        base / "bilstm",
        test_texts=["good", "bad"],
        test_labels=["pos", "neg"],
        manifest={"run_id": "r1", "data_fingerprint": "fp"},
        metrics={"accuracy": 1.0, "macro_f1": 1.0},
        variant="student",
    )
    result = runner.invoke(app, ["explain", f"{pipeline}@champion", "superb", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["label"] == "pos"


@pytest.mark.parametrize(
    ("folder", "args", "message"),
    [
        ("bilstm-int8", ["good", "--method", "integrated-gradients"], "Use --method occlusion"),
        ("bilstm", ["good", "--method", "shap"], "unknown explainer 'shap'"),
        ("bilstm", ["good", "--target", "neutral"], "labels are: neg, pos"),
        ("bilstm", [""], "text 1 is empty"),
        ("bilstm", ["good", "--format", "yaml"], "--format must be one of text, json, html"),
        ("missing", ["good"], "missing"),
    ],
)
def test_cli_errors_exit_2_with_a_message(models, folder, args, message):
    result = runner.invoke(app, ["explain", str(models["base"] / folder), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output + result.stderr


def test_output_to_a_folder_is_refused_with_an_explain_file_name_and_the_folder_kept(
    models, tmp_path
):
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    folder = str(models["base"] / "bilstm-int8")
    args = ["explain", folder, "good", "--format", "html", "-o", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'explanations.html'}" in result.output + result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"] and keep.read_text() == "mine"


def test_params_reach_the_method_and_bad_ones_exit_2(models):
    folder = str(models["base"] / "bilstm")
    runs = {}
    for steps in (2, 64):
        args = ["explain", folder, "the plot is awful", "--format", "json"]
        result = runner.invoke(app, [*args, "--params", json.dumps({"n_steps": steps})])
        assert result.exit_code == 0, result.output
        [runs[steps]] = json.loads(result.stdout)
    # more steps, a finer integral: the attributions move and the delta shrinks
    assert runs[2]["tokens"] != runs[64]["tokens"]
    delta = {k: abs(v["details"]["convergence_delta"]) for k, v in runs.items()}
    assert delta[64] < delta[2]
    for bad, message in [
        ('{"nsteps": 4}', "nsteps"),
        ('{"n_steps": 1}', "greater than or equal to 2"),
        ("[4]", "give a JSON object"),
        ("{bad", "not valid JSON"),
    ]:
        result = runner.invoke(app, ["explain", folder, "awful", "--params", bad])
        assert result.exit_code == 2, result.output
        assert message in result.output + result.stderr


# -- every model kind the product makes ----------------------------------------------------


@pytest.mark.parametrize("architecture", ["bilstm", "gru", "textcnn", "transformer", "bow"])
def test_every_built_in_architecture_is_explained_as_pytorch_onnx_and_int8(tmp_path, architecture):
    """Untrained models suffice: every folder kind must run through both methods it allows."""
    import shutil

    from model_helpers import TINY_MODELS
    from textcls import get_plugins
    from textcls.testing.explainer_checks import model_folders
    from textcls.testing.toy import TEXTS

    pytorch, onnx = model_folders(tmp_path, architecture, TINY_MODELS[architecture])
    int8 = tmp_path / "int8"
    int8.mkdir()
    quantizer = get_plugins().component("quantizer", "ort-dynamic-int8").create(None)
    quantizer.apply(onnx, int8, list(TEXTS), ExplainSubject(onnx).tokenizer)
    for item in onnx.iterdir():
        if item.is_file() and item.name != "model.onnx":
            shutil.copy2(item, int8 / item.name)
    texts = list(TEXTS[:3])
    words = [len(split_words(text)) for text in texts]
    for folder, methods in (
        (pytorch, ["integrated-gradients", "occlusion"]),
        (onnx, ["occlusion"]),
        (int8, ["occlusion"]),
    ):
        subject = ExplainSubject(folder)
        for method in methods:
            explanations = explain_texts(subject, texts, method=method)
            assert [len(e.tokens) for e in explanations] == words
            assert any(t.attribution != 0 for e in explanations for t in e.tokens), method


# -- third-party explainers ----------------------------------------------------------------


class FirstWord:
    """A third-party method: all credit to the first word (or the wrong number of scores)."""

    def __init__(self, params):
        self.broken = params.broken
        self.raises = params.raises

    def explain(self, subject, texts, targets):
        from textcls import Attribution

        if self.raises:
            raise RuntimeError("boom")
        answers = []
        for text in texts:
            n = len(subject.words(text)) + (1 if self.broken else 0)
            answers.append(Attribution([1.0] + [0.0] * (n - 1), {"words": float(n)}))
        return answers


class FirstWordParams(BaseModel):
    broken: bool = False
    raises: bool = False


class FirstWordPlugin:
    @hookimpl
    def textcls_register_explainers(self, register):
        register("first-word", FirstWord, params=FirstWordParams)


def test_a_third_party_explainer_is_used_and_its_answers_are_checked(models):
    from textcls import get_plugins

    host = get_plugins()
    assert host.register(FirstWordPlugin(), name="first-word-plugin") == "first-word-plugin"
    try:
        result = runner.invoke(
            app,
            [
                "explain",
                str(models["base"] / "bilstm-int8"),
                "a lovely film",
                "--method",
                "first-word",
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        [payload] = json.loads(result.stdout)
        assert payload["method"] == "first-word" and payload["details"] == {"words": 3.0}
        assert [t["attribution"] for t in payload["tokens"]] == [1.0, 0.0, 0.0]
        subject = ExplainSubject(models["base"] / "bilstm-int8")
        with pytest.raises(PluginError, match="gave 4 scores for text 1, which has 3 words"):
            explain_texts(subject, ["a lovely film"], method="first-word", params={"broken": True})
        # a plugin that raises is named in one message, not a traceback (exit 2 from the CLI)
        with pytest.raises(PluginError, match="explainer 'first-word' failed .*RuntimeError: boom"):
            explain_texts(subject, ["a lovely film"], method="first-word", params={"raises": True})
    finally:
        host.unregister("first-word-plugin")
