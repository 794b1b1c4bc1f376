"""The third-party example plugin (examples/plugin-example), built and installed as a wheel.

It shows up in `textcls plugins list`, passes `textcls plugins check`, and runs through a real
pipeline: data read by its fastText source, its BiGRU-with-attention model trained as teacher,
distilled into a smaller one with its KL+cosine distiller, exported to ONNX, quantized to int8,
used by `textcls predict`, and evaluated; its one-argument lifecycle listener hears every stage
finish.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from model_helpers import toy_rows

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin-example"
COMPONENTS = {"data_source": ["fasttext"], "distiller": ["kl-cosine"], "model": ["bigru-attention"]}


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """Build the example's wheel and install it into a folder that goes on PYTHONPATH."""
    work = tmp_path_factory.mktemp("plugin-example")
    source = work / "source"  # a copy: building in place would leave build/ in the repository
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    wheels = work / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"textcls_plugin_example", "textcls_plugin_example-0.2.0.dist-info"}
    site = work / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    return site


def run_cli(
    site: Path, *args: str, cwd: Path | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run `textcls` in a fresh process that sees the installed example plugin."""
    env = dict(os.environ)
    env.pop("TEXTCLS_BUILTIN_PLUGINS_ONLY", None)
    env.pop("PREFECT_API_URL", None)
    env["TEXTCLS_PLUGINS"] = "textcls-plugin-example"
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "textcls.flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def test_example_plugin_is_listed(installed_example):
    result = run_cli(installed_example, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["failures"] == []
    plugins = {p["name"]: p for p in payload["plugins"]}
    example = plugins["example"]
    assert example["distribution"] == "textcls-plugin-example"
    assert example["version"] == "0.2.0"
    assert example["builtin"] is False
    assert example["components"] == COMPONENTS
    assert example["hooks"] == [
        "textcls_register_data_sources",
        "textcls_register_distillers",
        "textcls_register_models",
        "textcls_stage_finished",
    ]
    assert "builtin-sources" in plugins


def test_example_components_pass_plugins_check(installed_example, tmp_path):
    result = run_cli(
        installed_example, "plugins", "check", "bigru-attention", "kl-cosine", "fasttext", "--json"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads(result.stdout)["results"]
    assert {(r["component"], r["check"]) for r in results if r["status"] == "passed"} >= {
        ("bigru-attention", "padding"),
        ("bigru-attention", "save-reload"),
        ("bigru-attention", "onnx-export"),
        ("bigru-attention", "int8-predict"),
        ("kl-cosine", "declared-arguments"),
        ("kl-cosine", "gradients"),
        ("fasttext", "bad-file"),
    }
    assert all(r["status"] == "passed" for r in results)


def test_example_params_are_validated_from_a_pipeline_file(installed_example, tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "name: with-example\n"
        "data: {train: train.csv}\n"
        "student:\n"
        "  model: {name: bigru-attention, params: {hidden_size: 0}}\n"
    )
    result = run_cli(installed_example, "config", "validate", str(config))
    assert result.returncode == 2
    assert f"{config}:4: student.model.params.hidden_size: Input should be greater than 0" in (
        result.stderr
    )


PIPELINE = """\
name: example-plugin
seed: 3
data:
  source: fasttext
  train: train.txt
  validation: val.txt
  test: test.txt
  drop_duplicates: false
teacher:
  model: {name: bigru-attention, params: {embedding_dim: 32, hidden_size: 32}}
  tokenizer: {name: word, params: {min_frequency: 1}}
  train: {epochs: 4, batch_size: 16, learning_rate: 0.01, max_length: 32}
student:
  model: {name: bigru-attention, params: {embedding_dim: 16, hidden_size: 8, attention_size: 8}}
  tokenizer: {name: word, params: {min_frequency: 1}}
  distill: {name: kl-cosine, params: {temperature: 2.0, alpha: 0.7}}
  train: {epochs: 6, batch_size: 16, learning_rate: 0.01, max_length: 32}
quantize:
  - {name: ort-dynamic-int8, targets: [student], max_accuracy_drop: 100}
evaluate: {split: test, measure_cost: false}
"""


@pytest.mark.slow
def test_example_plugin_runs_a_whole_pipeline(installed_example, tmp_path):
    for name, rows in (("train", 160), ("val", 40), ("test", 60)):
        lines = (f"__label__{label} {text}\n" for text, label in toy_rows(rows, seed=len(name)))
        (tmp_path / f"{name}.txt").write_text("".join(lines))
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    result = run_cli(installed_example, "run", "pipeline.yaml", cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    (run,) = (tmp_path / "runs" / "example-plugin").glob("2*")
    assert json.loads((run / "manifest.json").read_text())["status"] == "completed"

    # the listener declared one argument and heard every stage finish
    for stage in ("ingest", "teacher", "student", "quantize student-ort-dynamic-int8", "evaluate"):
        assert f"[textcls-plugin-example] stage {stage} finished" in result.stderr

    student = json.loads((run / "student" / "textcls.json").read_text())
    assert student["model"]["name"] == "bigru-attention"
    assert student["distill"]["distiller"]["name"] == "kl-cosine"
    (int8,) = (run / "quantized").glob("*/model.onnx")
    assert json.loads((int8.parent / "quantize.json").read_text())["delivered_precision"] == (
        "int8"
    )

    report = json.loads((run / "eval" / "report.json").read_text())
    variants = report["variants"]
    assert {"teacher", "student", "student-ort-dynamic-int8"} <= set(variants)
    assert variants["teacher"]["quality"]["accuracy"] >= 0.8
    assert variants["student-ort-dynamic-int8"]["quality"]["accuracy"] >= 0.8

    predicted = run_cli(
        installed_example, "predict", str(int8.parent), "a good and lovely film", "awful, sad"
    )
    assert predicted.returncode == 0, predicted.stderr
    rows = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [row["label"] for row in rows] == ["pos", "neg"]
