"""Retake docs/images/mlflow-run*.png: a textcls run in the MLflow UI.

Starts a real ``mlflow server`` on 127.0.0.1 (SQLite store, local artifacts, in a temporary
folder), runs a tiny tracked pipeline with ``textcls run`` (toy data, seconds of training),
and photographs the run's pages with headless Chromium. Nothing leaves the machine.

    .venv/bin/python docs/images/mlflow_screenshot.py [--chromium /usr/bin/chromium]

Chromium: ``--chromium``, else ``TEXTCLS_TEST_CHROMIUM``, else ``chromium`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's server helper and toy data

from ingest_helpers import csv_text  # noqa: E402
from mlflow_server import mlflow_server  # noqa: E402
from model_helpers import TINY_MODELS, toy_rows  # noqa: E402

PIPELINE = {
    "name": "toy-sentiment",
    "seed": 5,
    "data": {"train": "train.csv", "validation": "val.csv", "test": "val.csv"},
    "teacher": {
        "model": {"name": "transformer", "params": TINY_MODELS["transformer"]},
        "tokenizer": {"name": "wordpiece", "params": {"vocab_size": 200, "min_frequency": 1}},
        "train": {
            "epochs": 6,
            "batch_size": 16,
            "learning_rate": 0.001,
            "warmup_ratio": 0.1,
            "max_length": 32,
            "eval_steps": 10,
        },
    },
    "student": {
        "model": {"name": "bow", "params": TINY_MODELS["bow"]},
        "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
        "distill": {"name": "logits-kl"},
        "train": {"epochs": 4, "batch_size": 16, "learning_rate": 0.02, "max_length": 32},
    },
    "quantize": [{"name": "ort-dynamic-int8", "targets": ["student"]}],
    "evaluate": {"baselines": ["tfidf-logreg"]},
    "registry": {"path": "registry"},
    "output": "runs",
}

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1100",
    "--virtual-time-budget=30000",
]


def chromium_path(given: str | None) -> str:
    path = given or os.environ.get("TEXTCLS_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise SystemExit("no Chromium: pass --chromium PATH or set TEXTCLS_TEST_CHROMIUM")
    return path


def screenshot(chromium: str, url: str, out: Path, profile: Path) -> None:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}", url]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB) from {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    chromium = chromium_path(args.chromium)
    import mlflow

    with tempfile.TemporaryDirectory(prefix="textcls-mlflow-shot-") as tmp:
        work = Path(tmp)
        (work / "train.csv").write_text(csv_text(toy_rows(300)))
        (work / "val.csv").write_text(csv_text(toy_rows(80, seed=1)))
        with mlflow_server(work / "mlflow") as uri:
            pipeline = {
                **PIPELINE,
                "tracking": [{"name": "mlflow", "params": {"tracking_uri": uri}}],
            }
            (work / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
            env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
            textcls = Path(sys.executable).with_name("textcls")
            subprocess.run([str(textcls), "run", str(work / "pipeline.yaml")], check=True, env=env)
            client = mlflow.MlflowClient(tracking_uri=uri)
            experiment = client.get_experiment_by_name(PIPELINE["name"])
            (parent,) = client.search_runs(
                [experiment.experiment_id], "tags.`textcls.run_id` != ''"
            )
            (teacher,) = client.search_runs(
                [experiment.experiment_id],
                f"tags.mlflow.parentRunId = '{parent.info.run_id}' and "
                "tags.`textcls.stage` = 'teacher'",
            )
            base = f"{uri}/#/experiments/{experiment.experiment_id}/runs"
            args.out.mkdir(parents=True, exist_ok=True)
            screenshot(
                chromium, f"{base}/{parent.info.run_id}", args.out / "mlflow-run.png", work / "p1"
            )
            screenshot(
                chromium,
                f"{base}/{teacher.info.run_id}/model-metrics",
                args.out / "mlflow-teacher-curves.png",
                work / "p2",
            )


if __name__ == "__main__":
    main()
