"""The ``mlflow`` tracker: a textcls run as an MLflow run, the registry as model versions.

Everything goes through ``mlflow.MlflowClient`` with explicit run ids. MLflow's fluent API
(``mlflow.start_run``) keeps a thread-local stack of active runs, while Prefect runs tasks in
worker threads; explicit ids make every call land on the right run from any thread.

- one run per pipeline run, named after the textcls run id, tagged with the pipeline, run ids
  (textcls, Prefect flow run), data fingerprint, git revision and package versions; the
  flattened, validated config as params;
- one nested run per stage (``mlflow.parentRunId``): status (ran, cached, reused), seconds, and
  for a cached stage the textcls and MLflow runs that produced the artifact; training stages log
  their curves there (and into the parent as ``<stage>/<metric>``, for run comparison);
- every variant's evaluation metrics as ``eval/<variant>/<metric>`` in the parent run;
- a registered version as a model version of the registered model named after the pipeline:
  the delivered folder uploaded as the run's ``registry/v<n>/model`` artifacts, the decision as
  tags; the ``champion`` alias follows promotions and rollbacks.
"""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from textcls import ConfigError, RegistryEvent, RunStart, StageOutcome, Tracker

STATUS = {"completed": "FINISHED", "failed": "FAILED"}
#: MLflow's limits (mlflow.utils.validation): a batch holds 100 params / 1000 metrics
PARAM_BATCH = 100
METRIC_BATCH = 1000
PARAM_VALUE_MAX = 6000


def import_mlflow() -> Any:
    """``mlflow``, or a ConfigError that names the extra to install."""
    try:
        import mlflow
    except ImportError as exc:
        raise ConfigError(
            f"the mlflow tracker needs MLflow, which is not installed ({exc}); install it "
            'with: pip install "textcls[mlflow]", or remove mlflow from the pipeline\'s '
            "tracking section"
        ) from None
    return mlflow


class TrackerUnavailable(RuntimeError):
    """The tracking server did not answer."""


class ExperimentDeleted(RuntimeError):
    """The experiment runs would go to is in MLflow's trash (runs cannot be created in it)."""


def metric_key(name: str) -> str:
    """A name MLflow accepts (letters, digits, ``_ - . /`` and spaces)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)


class MlflowTracker(Tracker):
    """One pipeline run's MLflow side (see the module docstring)."""

    def __init__(self, params: Any) -> None:
        self.mlflow = import_mlflow()
        self.params = params
        self._client: Any = None
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.pipeline: str | None = None
        self.stage_runs: dict[str, str] = {}

    # -- connection -------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            # MLflow's HTTP client retries a refused connection for minutes by default; a
            # tracker must not hold a pipeline up that long
            os.environ.setdefault(
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(self.params.http_request_max_retries)
            )
            os.environ.setdefault(
                "MLFLOW_HTTP_REQUEST_TIMEOUT", str(self.params.http_request_timeout_s)
            )
            uri = self.params.tracking_uri
            if uri and uri.startswith(("http://", "https://")):
                self._probe(uri)
            self._client = self.mlflow.MlflowClient(tracking_uri=uri)
        return self._client

    def _probe(self, uri: str) -> None:
        """One quick request first: a server that is down costs seconds, not retries.

        A URI's user info (``http://user:password@host``, which MLflow's client accepts) goes
        as a basic-auth header, as MLflow sends it, and never into the error message.
        """
        parts = urlsplit(uri)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        server = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        request = urllib.request.Request(server + "/health")
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            request.add_header("Authorization", "Basic " + b64encode(token.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=self.params.probe_timeout_s):
                return
        except urllib.error.HTTPError:
            return  # it answered (an older server without /health, or behind a proxy)
        except (OSError, ValueError) as exc:
            raise TrackerUnavailable(
                f"the MLflow server at {server} did not answer ({exc}); start it (mlflow "
                "server --host ... --port ...) or fix tracking[].params.tracking_uri"
            ) from None

    def _experiment(self, default: str) -> str:
        if self.experiment_id is None:
            name = self.params.experiment or default
            found = self.client.get_experiment_by_name(name)
            if found is not None and found.lifecycle_stage == "deleted":
                raise ExperimentDeleted(
                    f"MLflow experiment {name!r} (id {found.experiment_id}) is deleted; restore "
                    f"it (mlflow experiments restore --experiment-id {found.experiment_id}), "
                    "purge it (mlflow gc), or set tracking[].params.experiment to another name"
                )
            self.experiment_id = (
                found.experiment_id if found is not None else self.client.create_experiment(name)
            )
        return self.experiment_id

    # -- the run ----------------------------------------------------------------------------
    def start_run(self, run: RunStart) -> str | None:
        from mlflow.entities import Param

        self.pipeline = run.pipeline
        experiment = self._experiment(run.pipeline)
        created = self.client.create_run(experiment, run_name=run.run_id, tags=dict(run.tags))
        self.run_id = created.info.run_id
        params = [
            Param(key[:250], value[:PARAM_VALUE_MAX]) for key, value in sorted(run.params.items())
        ]
        for start in range(0, len(params), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + PARAM_BATCH])
        return self.run_id

    def set_tags(self, tags: dict[str, str]) -> None:
        if self.run_id is None:
            return
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def stage_started(self, stage: str, config: dict[str, Any]) -> None:
        if self.run_id is None or self.experiment_id is None:
            return
        created = self.client.create_run(
            self.experiment_id,
            run_name=stage,
            tags={
                "mlflow.parentRunId": self.run_id,
                "textcls.stage": stage,
                "textcls.pipeline": self.pipeline or "",
            },
        )
        self.stage_runs[stage] = created.info.run_id

    def stage_finished(self, outcome: StageOutcome) -> None:
        if self.run_id is None:
            return
        stage_run = self.stage_runs.pop(outcome.stage, None)
        tags = {"textcls.stage.status": outcome.status, "textcls.stage.cached": str(outcome.cached)}
        for key in ("sha256", "path", "version"):
            if outcome.artifact.get(key) is not None:
                tags[f"textcls.artifact.{key}"] = str(outcome.artifact[key])
        if outcome.produced_by:
            tags["textcls.produced_by.run_id"] = str(outcome.produced_by.get("run_id"))
            producer = _mlflow_run_of(outcome.produced_by)
            if producer:
                tags["textcls.produced_by.mlflow_run_id"] = producer
        prefix = metric_key(outcome.stage)
        self._log(
            self.run_id,
            {f"stage/{prefix}/seconds": outcome.seconds, f"stage/{prefix}/cached": outcome.cached},
            0,
        )
        if stage_run is not None:
            for key, value in tags.items():
                self.client.set_tag(stage_run, key, value)
            self._log(stage_run, {"seconds": outcome.seconds}, 0)
            self.client.set_terminated(stage_run, "FINISHED")

    def log_metrics(self, stage: str | None, metrics: dict[str, float], step: int) -> None:
        if self.run_id is None:
            return
        stage_run = self.stage_runs.get(stage) if stage else None
        if stage_run is not None:
            self._log(stage_run, metrics, step)
        prefix = f"{metric_key(stage)}/" if stage else ""
        self._log(self.run_id, {f"{prefix}{k}": v for k, v in metrics.items()}, step)

    def _log(self, run_id: str, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(metric_key(k), float(v), now, step) for k, v in metrics.items()]
        for start in range(0, len(batch), METRIC_BATCH):
            self.client.log_batch(run_id, metrics=batch[start : start + METRIC_BATCH])

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        if self.run_id is None or not self.params.log_artifacts:
            return
        if Path(path).is_dir():
            self.client.log_artifacts(self.run_id, path, artifact_path)
        elif Path(path).is_file():
            self.client.log_artifact(self.run_id, path, artifact_path)

    def log_evaluation(self, variant: str, metrics: dict[str, float]) -> None:
        if self.run_id is None:
            return
        name = metric_key(variant)
        self._log(self.run_id, {f"eval/{name}/{k}": v for k, v in metrics.items()}, 0)

    def end_run(self, status: str) -> None:
        if self.run_id is None:
            return
        final = STATUS.get(status, self.params.run_status_on_cancel)
        for stage_run in self.stage_runs.values():  # a stage that failed or was cut short
            self.client.set_terminated(stage_run, "FAILED" if final == "FINISHED" else final)
        self.stage_runs.clear()
        self.client.set_terminated(self.run_id, final)

    # -- the registry mirror ----------------------------------------------------------------
    def _registered_model(self, pipeline: str) -> str:
        from mlflow.exceptions import MlflowException

        name = self.params.registered_model or pipeline
        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(
                name,
                tags={"textcls.pipeline": pipeline},
                description=f"textcls pipeline {pipeline}: mirrored from its registry, which "
                "stays the source of truth",
            )
        return name

    def model_registered(self, event: RegistryEvent) -> None:
        if not self.params.registry_mirror or event.model_dir is None:
            return
        name = self._registered_model(event.pipeline)
        if self.run_id is not None:
            artifact_path = f"registry/v{event.version}/model"
            self.client.log_artifacts(self.run_id, event.model_dir, artifact_path)
            base = self.client.get_run(self.run_id).info.artifact_uri
            source = f"{base.rstrip('/')}/{artifact_path}"
        else:
            source = Path(event.model_dir).resolve().as_uri()
        tags = {
            **event.tags,
            "textcls.version": str(event.version),
            "textcls.run_id": str(event.run_id),
            "textcls.promoted": str(event.promoted),
        }
        version = self.client.create_model_version(
            name, source, run_id=self.run_id, tags=tags, description=event.reason
        )
        if event.promoted:
            self.client.set_registered_model_alias(name, self.params.alias, version.version)

    def alias_moved(self, event: RegistryEvent) -> None:
        if not self.params.registry_mirror:
            return
        name = self.params.registered_model or event.pipeline
        version = self._model_version(name, event.version)
        self.client.set_registered_model_alias(name, self.params.alias, version)
        self.client.set_model_version_tag(
            name, version, f"textcls.{event.action}", event.reason or event.action
        )

    def _model_version(self, name: str, textcls_version: int) -> str:
        """The MLflow version that mirrors textcls version ``textcls_version``."""
        for found in self.client.search_model_versions(f"name = '{name}'"):
            if found.tags.get("textcls.version") == str(textcls_version):
                return str(found.version)
        raise LookupError(
            f"MLflow registered model {name!r} has no version mirroring textcls version "
            f"{textcls_version} (it was registered before the mlflow tracker was on, or to "
            "another server); the textcls registry changed, the MLflow alias did not"
        )


def _mlflow_run_of(produced_by: dict[str, Any]) -> str | None:
    """The MLflow run id in a producing run's manifest ``tracking`` record."""
    tracking = produced_by.get("tracking") or {}
    for name in ["mlflow", *sorted(tracking)]:
        record = tracking.get(name)
        if isinstance(record, dict) and record.get("run_id"):
            return str(record["run_id"])
    return None
