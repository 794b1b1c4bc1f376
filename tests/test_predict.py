"""``textcls predict``: every input form, both output formats, and broken model folders."""

from __future__ import annotations

import csv
import io
import json

import pytest
from model_helpers import toy_data, with_student
from textcls.config import QuantizeStep
from textcls.flows.cli import app
from textcls.stages.finetune import fine_tune
from textcls.stages.quantize import quantize
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-predict")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bow"), "student", data_dir, base / "bow")
    quantize(QuantizeStep(name="ort-dynamic-int8"), base / "bow", data_dir, base / "bow-int8")
    return base


@pytest.mark.parametrize("folder", ["bow", "bow-int8"])
def test_texts_from_arguments_as_jsonl(models, folder):
    result = runner.invoke(
        app, ["predict", str(models / folder), "good great film", "awful dull plot"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert set(rows[0]["probabilities"]) == {"neg", "pos"}
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_text_file_to_csv_output(models, tmp_path):
    (tmp_path / "in.txt").write_text("good great film\n\nawful dull plot\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["predict", str(models / "bow"), "--file", str(tmp_path / "in.txt"), "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert set(rows[0]) == {"text", "label", "p_neg", "p_pos"}


def test_csv_and_jsonl_inputs_with_text_column(models, tmp_path):
    (tmp_path / "in.csv").write_text("id,body\n1,good great film\n2,awful dull plot\n")
    result = runner.invoke(
        app,
        [
            "predict",
            str(models / "bow-int8"),
            "-f",
            str(tmp_path / "in.csv"),
            "--text-column",
            "body",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["label"] for x in result.stdout.splitlines()] == ["pos", "neg"]
    (tmp_path / "in.jsonl").write_text('{"body": "good great film"}\n')
    result = runner.invoke(
        app,
        [
            "predict",
            str(models / "bow"),
            "-f",
            str(tmp_path / "in.jsonl"),
            "--text-column",
            "body",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0 and result.stdout.startswith("text,label,p_neg,p_pos")


def test_stdin(models):
    result = runner.invoke(app, ["predict", str(models / "bow")], input="good great film\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["label"] == "pos"


def test_missing_text_column(models, tmp_path):
    (tmp_path / "in.csv").write_text("id,body\n1,x\n")
    result = runner.invoke(app, ["predict", str(models / "bow"), "-f", str(tmp_path / "in.csv")])
    assert result.exit_code == 2
    assert "column 'text' not found; columns found: id, body. Pass --text-column." in result.stderr


def test_missing_model_folder(tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path / "nope"), "x"])
    assert result.exit_code == 2 and "model folder not found" in result.stderr


def test_truncated_onnx_model(models, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(models / "bow-int8", broken)
    data = (broken / "model.onnx").read_bytes()
    (broken / "model.onnx").write_bytes(data[: len(data) // 2])
    result = runner.invoke(app, ["predict", str(broken), "x"])
    assert result.exit_code == 2
    assert "not a loadable ONNX model (truncated or not ONNX?)" in result.stderr


def test_foreign_weights_file(models, tmp_path):
    import shutil

    broken = tmp_path / "foreign"
    shutil.copytree(models / "bow", broken)
    (broken / "model.safetensors").write_bytes(b"this is not a safetensors file")
    result = runner.invoke(app, ["predict", str(broken), "x"])
    assert result.exit_code == 2
    assert "cannot load the model (truncated or foreign weights file?)" in result.stderr


@pytest.mark.parametrize("labels", [["neg", "pos"], ['50% "quoted"', "back\\slash", "naïve ☃"]])
def test_jsonl_rows_are_what_json_dumps_writes(labels):
    """The one-template JSONL writer gives json.dumps' bytes, odd texts and labels included."""
    import numpy as np
    from textcls.flows.predict_io import render

    texts = ['say "hi"', "back\\slash", "tab\there", "line\u2028sep", "émoji 🎬", "%s %r", ""]
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(labels)), size=len(texts)).astype(np.float32)
    probs[0] = 1.0 / len(labels)  # a tie: the first label wins, as argmax picks
    expected = "".join(
        json.dumps(
            {
                "text": text,
                "label": labels[int(np.argmax(row))],
                "probabilities": dict(zip(labels, row.tolist(), strict=True)),
            },
            ensure_ascii=False,
        )
        + "\n"
        for text, row in zip(texts, probs, strict=True)
    )
    assert render(texts, probs, labels, "jsonl") == expected
    probs[1, 0] = np.nan  # not finite: json.dumps writes NaN, and so must we
    lines = render(texts, probs, labels, "jsonl").split("\n")[:-1]  # not splitlines: U+2028
    rows = [json.loads(line) for line in lines]
    assert np.isnan(rows[1]["probabilities"][labels[0]])
