"""The ``textcls-sweep`` flow: one pipeline run per grid combination, fanned out by task mapping.

Each mapped task runs one variant's pipeline in a child process (``textcls run --run-id ...``)
against the same Prefect API. Why a child process and not an in-process subflow: training
seeds the process-wide RNGs and sets torch's thread pool, so two variants training in threads
of one process would disturb each other and their results would depend on timing. A child
process per variant keeps every variant reproducible, frees its memory when it ends, confines
a crash to its own task, and behaves the same on the default thread pool and on Dask workers.

On SIGTERM or Ctrl-C the flow terminates the variant processes still running (each records its
run as cancelled, as ``textcls run`` does on SIGTERM) and starts no more, instead of waiting for
them to finish training: the thread pool cannot end before its tasks do. (On Dask the variants
run in the workers' processes; stopping the cluster stops them.)

Variants share the pipeline's artifact store, so stages whose inputs do not change across the
grid (ingest, usually the teacher) run once; the per-artifact lock in ``textcls.flows.tasks``
makes a concurrent variant wait for the shared stage and then reuse it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.task_runners import ThreadPoolTaskRunner
from textcls import ConfigError, StageError
from textcls.artifacts import write_json_atomic, write_text_atomic
from textcls.config import OrchestrationConfig
from textcls.flows.pipeline import artifact_key
from textcls.sweep import (
    expand_grid,
    render_summary,
    summarize,
    validate_variants,
)


def task_runner_for(orchestration: OrchestrationConfig) -> Any:
    """The task runner the config asks for: a thread pool, or Dask (local or remote)."""
    if orchestration.task_runner == "thread":
        return ThreadPoolTaskRunner(max_workers=orchestration.max_parallel)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ConfigError(
            "orchestration.task_runner: dask needs prefect-dask; install it with "
            "pip install 'textcls[dask]'"
        ) from None
    if orchestration.dask_address:
        return DaskTaskRunner(address=orchestration.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": orchestration.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def _api_env() -> dict[str, str]:
    """The child's environment: this process's, plus the Prefect API this flow reports to."""
    from prefect.settings import get_current_settings

    env = dict(os.environ)
    url = get_current_settings().api.url
    if url:
        env["PREFECT_API_URL"] = str(url)
    return env


class _Children:
    """The variant processes this flow process runs; on an interrupt, stopped together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self.stopping = False

    def start(self, command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.stopping:
                raise StageError("the sweep was interrupted before this variant started")
            child = subprocess.Popen(command, **options)
            self._running.add(child)
            return child

    def wait(self, child: subprocess.Popen[bytes]) -> int:
        try:
            return child.wait()
        finally:
            with self._lock:
                self._running.discard(child)

    def stop_all(self, grace_s: float = 30.0) -> None:
        """SIGTERM every running variant (each cancels its run cleanly), SIGKILL what is
        still alive after ``grace_s``; start no more."""
        with self._lock:
            self.stopping = True
            running = list(self._running)
        for child in running:
            if child.poll() is None:
                child.terminate()
        for child in running:
            try:
                child.wait(grace_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def reset(self) -> None:
        with self._lock:
            self.stopping = False

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # Dask pickles the variant task by value, and with it this registry: a worker process
        # gets its own (a lock and running processes cannot travel).
        return (_process_children, ())


def _process_children() -> _Children:
    """This process's registry of variant processes."""
    return _children


_children = _Children()


def _last_error(log: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return " | ".join(lines[-5:]) or "no output"


def _run_child(command: list[str], log: Path) -> int:
    """Run one variant process, tracked by ``_children``; its exit code."""
    with log.open("w", encoding="utf-8") as handle:
        child = _children.start(command, stdout=handle, stderr=subprocess.STDOUT, env=_api_env())
        return _children.wait(child)


@task(name="sweep-variant")
def run_variant(
    config_path: str,
    overrides: list[str],
    output: str,
    pipeline: str,
    run_id: str,
    log_path: str,
) -> dict[str, Any]:
    """Run one variant's pipeline in a child process; its output goes to ``log_path``."""
    command = [
        sys.executable,
        "-m",
        "textcls.flows.cli",
        "run",
        config_path,
        "--output",
        output,
        "--run-id",
        run_id,
    ]
    for override in overrides:
        command += ["--set", override]
    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    code = _run_child(command, log)
    if code != 0:
        raise StageError(
            f"variant run {run_id} exited with {code}: "
            f"{_last_error(log.read_text(encoding='utf-8'))} (log: {log})"
        )
    return {
        "status": "completed",
        "run_id": run_id,
        "run_dir": str(Path(output) / pipeline / run_id),
        "log": str(log),
        "task_pid": os.getpid(),  # which process ran the task: this one, or a Dask worker
    }


@flow(name="textcls-sweep")
def textcls_sweep(
    config_path: str,
    grid: dict[str, list[str]],
    sweep_id: str,
    overrides: list[str] | None = None,
    output: str | None = None,
    metric: str = "accuracy",
) -> dict[str, Any]:
    """Run every grid combination of the pipeline; returns the sweep summary."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    logger = get_run_logger()
    base = list(overrides or [])
    variants = expand_grid(grid)
    configs = validate_variants(config_path, base, variants)
    pipeline = configs[0].name
    if any(config.name != pipeline for config in configs):
        raise ConfigError("a sweep cannot change the pipeline name; remove name from --grid")
    root = Path(output) if output else Path(configs[0].output)
    sweep_dir = root / pipeline / "sweeps" / sweep_id
    logger.info("sweep %s: %d variants of %s", sweep_id, len(variants), pipeline)
    _children.reset()
    futures = run_variant.map(
        config_path=unmapped(config_path),
        overrides=[[*base, *v.overrides] for v in variants],
        output=unmapped(str(root)),
        pipeline=unmapped(pipeline),
        run_id=[f"{sweep_id}-{v.name}" for v in variants],
        log_path=[str(sweep_dir / f"{v.name}.log") for v in variants],
    )
    outcomes: list[dict[str, Any]] = []
    try:
        for variant, future in zip(variants, futures, strict=True):
            future.wait()
            state = future.state
            if state.is_completed():
                outcomes.append(state.result())
            else:
                try:
                    state.result()
                    error = state.message or state.name
                except BaseException as exc:  # the variant's own error, kept for the summary
                    error = str(exc)
                logger.warning("%s (%s) failed: %s", variant.name, variant.label, error)
                outcomes.append({"status": "failed", "error": error})
    except BaseException:  # SIGTERM or Ctrl-C: the pool ends only once its variants do
        _children.stop_all()
        raise
    summary = summarize(sweep_id, pipeline, grid, variants, outcomes, metric)
    summary["folder"] = str(sweep_dir)
    markdown = render_summary(summary)
    write_json_atomic(sweep_dir / "sweep.json", summary)
    write_text_atomic(sweep_dir / "sweep.md", markdown)
    key = artifact_key(pipeline, "sweep")
    create_table_artifact(
        table=[{k: v for k, v in row.items() if k != "error"} for row in summary["rows"]],
        key=key,
        description=f"{pipeline}: sweep {sweep_id}",
    )
    create_markdown_artifact(
        markdown=markdown, key=f"{key}-report", description=f"sweep {sweep_id}"
    )
    return summary
