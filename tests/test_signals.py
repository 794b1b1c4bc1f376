"""SIGTERM and SIGINT stop ``textcls run`` cleanly: its temporary Prefect server goes with it,
and the manifest says ``cancelled``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from ingest_helpers import csv_text
from model_helpers import toy_rows

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for child processes")

#: Trains for hours unless stopped: the signal always lands mid-training.
PIPELINE = {
    "name": "endless",
    "seed": 5,
    "data": {"train": "train.csv", "validation": "val.csv", "test": "val.csv"},
    "student": {
        "model": {"name": "bow", "params": {"embedding_dim": 16, "ngram_buckets": 1000}},
        "tokenizer": {"name": "word", "params": {"min_frequency": 1}},
        "train": {"max_steps": 10_000_000, "eval_steps": 20, "batch_size": 16, "max_length": 32},
    },
    "output": "runs",
}


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent:
                found.append(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Children started inside begin with SIGINT at its default, as a command typed in a terminal.

    A shell starts a background job of a script (``.ci/run &``, ``nohup ... &``) with SIGINT
    ignored, and an ignored signal stays ignored through fork and exec: Python then never
    installs its KeyboardInterrupt handler, and ``kill -INT`` does nothing, by design. A suite
    launched that way would hand that on to ``textcls run`` (which then trained on, and the
    SIGINT case timed out). A Python handler, unlike SIG_IGN, is reset to the default by exec;
    this one does nothing, so the suite itself still ignores SIGINT meanwhile.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"


def test_a_child_answers_sigint_even_when_the_suite_was_started_ignoring_it() -> None:
    """What the SIGINT case below relies on, checked in a second: started as ``.ci/run &``
    starts pytest (SIGINT ignored), a child still stops on SIGINT."""
    suite = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigint_as_in_a_terminal():
            child = subprocess.Popen(
                [sys.executable, "-c", SLEEPER],
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN, "the suite's own is restored"
    finally:
        signal.signal(signal.SIGINT, suite)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == -signal.SIGINT  # an unhandled KeyboardInterrupt
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def start_endless(tmp_path: Path, *command: str) -> subprocess.Popen[str]:
    """``textcls COMMAND...`` on the endless pipeline in ``tmp_path``, in a session of its own
    (a signal to it alone, as ``kill PID`` sends it), SIGINT at its default, no PREFECT_API_URL:
    the temporary server, as on a user's machine."""
    (tmp_path / "train.csv").write_text(csv_text(toy_rows(200)))
    (tmp_path / "val.csv").write_text(csv_text(toy_rows(60, seed=1)))
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    with sigint_as_in_a_terminal():  # whoever started the suite, as a user starts it
        return subprocess.Popen(
            [sys.executable, "-m", "textcls.flows.cli", *command],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def wait_for_a_checkpoint(tmp_path: Path, child: subprocess.Popen[str], deadline: float) -> None:
    """Until some student has written a checkpoint: the signal then lands mid-training, where
    there is a run folder to record the cancellation in (a fixed pause was not enough on a
    loaded machine: processes were still importing)."""
    checkpoints = tmp_path / "runs" / "endless" / "artifacts"
    while not list(checkpoints.glob(".student-*.work-*/checkpoints/checkpoint-*")):
        assert child.poll() is None, child.stdout.read() if child.stdout else ""
        assert time.monotonic() < deadline, "training never reached a checkpoint"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_textcls_run_with_its_prefect_server_and_a_cancelled_manifest(
    tmp_path: Path, signum: signal.Signals
) -> None:
    child = start_endless(tmp_path, "run", "pipeline.yaml")
    try:
        deadline = time.monotonic() + 300
        wait_for_a_checkpoint(tmp_path, child, deadline)
        helpers = children_of(child.pid)
        assert helpers, "textcls run should have started a temporary Prefect server"
        started = time.monotonic()
        child.send_signal(signum)
        output, _ = child.communicate(timeout=60)
        stopped_in = time.monotonic() - started
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 128 + signum, output[-3000:]
    assert f"cancelled by {signum.name}" in output
    assert "Traceback" not in output
    assert stopped_in < 30, f"took {stopped_in:.0f} s to stop"
    time.sleep(1)
    assert not [pid for pid in helpers if alive(pid)], "a helper process outlived textcls run"
    (manifest_path,) = (tmp_path / "runs" / "endless").glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "cancelled"
    assert manifest["error"] == f"cancelled by {signum.name} during student"


DEADLINE_SCRIPT = """
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import serve
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
serve.Deadline(1.0).arm(15)  # SIGTERM arrived; the graceful shutdown below never ends
time.sleep(120)
"""


def test_serve_exits_at_its_deadline_and_takes_its_flow_runs_with_it():
    """deployments/serve.py: a shutdown that stalls is cut off, children included."""
    root = Path(__file__).resolve().parents[1]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", DEADLINE_SCRIPT, str(root / "deployments")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 128 + signal.SIGTERM, done.stderr[-2000:]
    child = int(done.stdout.splitlines()[0])
    assert "graceful shutdown took too long" in done.stdout
    time.sleep(0.5)
    assert not alive(child), "the flow run outlived serve.py"


def variant_processes(pid: int) -> list[int]:
    """Descendants of ``pid`` that are a sweep variant's ``textcls run``."""
    found = []
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"textcls.flows.cli" in command and b"run" in command:
            found.append(child)
    return found


@pytest.mark.slow
def test_sigterm_stops_a_sweep_and_the_variants_it_is_running(tmp_path: Path) -> None:
    """The pool's threads wait on their variant processes: SIGTERM must end those, not wait
    for them to finish training (they never would here)."""
    grid = ["--grid", "student.train.learning_rate=0.01,0.02,0.03", "--sweep-id", "endless"]
    sweep = start_endless(tmp_path, "sweep", "pipeline.yaml", *grid)
    try:
        deadline = time.monotonic() + 300
        while len(variants := variant_processes(sweep.pid)) < 2:  # max_parallel 2 of 3
            assert sweep.poll() is None, sweep.stdout.read() if sweep.stdout else ""
            assert time.monotonic() < deadline, "the sweep never started its variants"
            time.sleep(0.5)
        wait_for_a_checkpoint(tmp_path, sweep, deadline)
        started = time.monotonic()
        sweep.send_signal(signal.SIGTERM)
        output, _ = sweep.communicate(timeout=120)
        stopped_in = time.monotonic() - started
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "cancelled by SIGTERM" in output
    assert stopped_in < 60, f"took {stopped_in:.0f} s to stop"
    assert not [pid for pid in variants if alive(pid)], "a variant outlived the sweep"
    runs = tmp_path / "runs" / "endless"
    manifests = [json.loads(m.read_text()) for m in runs.glob("endless-*/manifest.json")]
    assert manifests, "a variant that was running should have recorded its run"
    assert {m["status"] for m in manifests} == {"cancelled"}
    assert not (runs / "endless-v002").exists(), "the third variant started after SIGTERM"
