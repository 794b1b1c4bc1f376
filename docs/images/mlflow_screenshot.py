"""Retake docs/images/mlflow-run*.png: a textcls run in the MLflow UI.

Starts a real ``mlflow server`` on 127.0.0.1 (SQLite store, local artifacts, in a temporary
folder), runs a tiny tracked pipeline with ``textcls run`` (toy data, seconds of training),
and photographs the run's pages with headless Chromium. Nothing leaves the machine.

    .venv/bin/python docs/images/mlflow_screenshot.py [--chromium /usr/bin/chromium]
    .venv/bin/python docs/images/mlflow_screenshot.py --tracking-uri http://127.0.0.1:5000

(the second photographs a server you keep running, after one run of the first kind there).

Chromium: ``--chromium``, else ``TEXTCLS_TEST_CHROMIUM``, else ``chromium`` on the PATH.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's server helper and toy data

from ingest_helpers import csv_text  # noqa: E402
from mlflow_server import free_port, mlflow_server  # noqa: E402
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
]
WIDTH, HEIGHT = 1600, 1100
#: MLflow 3's UI opens an assistant panel beside every page; the picture is of the run
CLOSE_ASSISTANT = """
(() => {
  const close = [...document.querySelectorAll('button[aria-label="Close"]')].pop();
  if (!close) return 'no assistant panel';
  close.click();
  return 'assistant panel closed';
})()
"""


FOCUS_SEARCH = "document.querySelector('input[placeholder^=\"Search\"]').focus()"


def chromium_path(given: str | None) -> str:
    path = given or os.environ.get("TEXTCLS_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise SystemExit("no Chromium: pass --chromium PATH or set TEXTCLS_TEST_CHROMIUM")
    return path


class DevTools:
    """Just enough of the Chrome DevTools protocol: send a command, wait for its answer."""

    def __init__(self, socket_url: str) -> None:
        from websockets.sync.client import connect

        self.socket = connect(socket_url, max_size=None)
        self.next_id = 0

    def send(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})


def screenshot(
    chromium: str, url: str, out: Path, profile: Path, settle_s: float, search: str = ""
) -> None:
    """Load ``url`` in headless Chromium, let the UI fetch and draw (real time: the page
    polls the server, which a virtual-time budget would starve), then capture it."""
    port = free_port()
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--remote-debugging-port={port}",
        f"--window-size={WIDTH},{HEIGHT}",
        "about:blank",
    ]
    browser = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        pages: list[dict] = []
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.send("Page.navigate", url=url)
        time.sleep(settle_s)
        closed = tools.send("Runtime.evaluate", expression=CLOSE_ASSISTANT, returnByValue=True)
        if search:  # type into the page's search box, as a user narrows the charts
            tools.send("Runtime.evaluate", expression=FOCUS_SEARCH)
            tools.send("Input.insertText", text=search)
        time.sleep(settle_s / 2)  # the charts redraw in the wider page
        shot = tools.send("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))
        print(
            f"wrote {out} ({out.stat().st_size // 1024} KB) from {url} "
            f"({closed.get('result', {}).get('value')})"
        )
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=30)


def run_pipeline(work: Path, uri: str) -> None:
    """The tiny tracked pipeline, run as a user runs it."""
    (work / "train.csv").write_text(csv_text(toy_rows(300)))
    (work / "val.csv").write_text(csv_text(toy_rows(80, seed=1)))
    pipeline = {**PIPELINE, "tracking": [{"name": "mlflow", "params": {"tracking_uri": uri}}]}
    (work / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
    textcls = Path(sys.executable).with_name("textcls")
    subprocess.run([str(textcls), "run", str(work / "pipeline.yaml")], check=True, env=env)


def photograph(uri: str, chromium: str, out: Path, work: Path, settle_s: float) -> None:
    """The newest textcls run of the pipeline, and its teacher stage's curves."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(PIPELINE["name"])
    parent = client.search_runs(
        [experiment.experiment_id],
        "tags.`textcls.run_id` != ''",
        order_by=["attributes.start_time DESC"],
    )[0]
    (teacher,) = client.search_runs(
        [experiment.experiment_id],
        f"tags.mlflow.parentRunId = '{parent.info.run_id}' and tags.`textcls.stage` = 'teacher'",
    )
    base = f"{uri}/#/experiments/{experiment.experiment_id}/runs"
    out.mkdir(parents=True, exist_ok=True)
    pages = {  # picture: (page, what to type in its search box)
        "mlflow-run.png": (f"{base}/{parent.info.run_id}", ""),
        # the learning curves: training and validation loss
        "mlflow-teacher-curves.png": (f"{base}/{teacher.info.run_id}/model-metrics", "/loss"),
    }
    for i, (name, (url, search)) in enumerate(pages.items()):
        screenshot(chromium, url, out / name, work / f"profile-{i}", settle_s, search)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument(
        "--tracking-uri", help="photograph this running server's newest toy-sentiment run"
    )
    parser.add_argument("--settle-s", type=float, default=12.0, help="wait for the UI to draw")
    args = parser.parse_args()
    chromium = chromium_path(args.chromium)
    with tempfile.TemporaryDirectory(prefix="textcls-mlflow-shot-") as tmp:
        work = Path(tmp)
        if args.tracking_uri:
            photograph(args.tracking_uri, chromium, args.out, work, args.settle_s)
            return
        with mlflow_server(work / "mlflow") as uri:
            run_pipeline(work, uri)
            photograph(uri, chromium, args.out, work, args.settle_s)


if __name__ == "__main__":
    main()
