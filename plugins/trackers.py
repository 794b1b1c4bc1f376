"""Built-in experiment trackers: ``mlflow``.

Registration stays light: MLflow is imported only when a pipeline turns the tracker on
(``pip install "textcls[mlflow]"``), so ``textcls plugins list`` works without it.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator
from textcls import Register, TrackerCapabilities, hookimpl

#: tracking URI schemes MLflow understands (no scheme: a local folder)
#: values of MLflow's boolean environment variables that mean true
FLAG_ON = ("true", "1")
URI_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "mssql", "databricks")


class MlflowParams(BaseModel):
    """Where runs go, and what is mirrored."""

    model_config = ConfigDict(extra="forbid")

    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking server, e.g. http://127.0.0.1:5000 (default: "
        "MLFLOW_TRACKING_URI, else MLflow's own default: sqlite:///mlflow.db in the current "
        "folder); a folder or file: URI needs MLFLOW_ALLOW_FILE_STORE=true",
    )
    experiment: str | None = Field(
        None, description="Experiment the runs go to (default: the pipeline name)"
    )
    registered_model: str | None = Field(
        None, description="Registered model that mirrors the registry (default: pipeline name)"
    )
    registry_mirror: bool = Field(
        True,
        description="Register each textcls registry version as an MLflow model version and "
        "move the alias on promotion and rollback",
    )
    alias: str = Field("champion", min_length=1, description="MLflow alias of the champion")
    log_artifacts: bool = Field(
        True, description="Upload reports, plots, model cards and the manifest"
    )
    probe_timeout_s: float = Field(
        5.0, gt=0, description="How long to wait for an HTTP server's /health before giving up"
    )
    http_request_timeout_s: int = Field(
        30, gt=0, description="MLFLOW_HTTP_REQUEST_TIMEOUT, unless the environment sets it"
    )
    http_request_max_retries: int = Field(
        2, ge=0, description="MLFLOW_HTTP_REQUEST_MAX_RETRIES, unless the environment sets it"
    )
    run_status_on_cancel: Literal["KILLED", "FAILED"] = Field(
        "KILLED", description="MLflow status of a run stopped by a signal"
    )

    @field_validator("tracking_uri")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlparse(value).scheme.lower()
        base = scheme.split("+", 1)[0]
        if scheme and len(scheme) > 1 and base not in URI_SCHEMES:
            raise ValueError(
                f"tracking_uri {value!r} has scheme {scheme!r}; MLflow tracks to "
                f"{', '.join(s + '://' for s in URI_SCHEMES)} or a local folder"
            )
        if base in ("http", "https") and not urlparse(value).netloc:
            raise ValueError(f"tracking_uri {value!r} names no host; e.g. http://127.0.0.1:5000")
        file_store = base == "file" or not scheme or len(scheme) == 1  # a folder (or C:\\...)
        if file_store and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in FLAG_ON:
            raise ValueError(
                f"tracking_uri {value!r} is a folder (MLflow's file store), which MLflow 3 "
                "refuses unless MLFLOW_ALLOW_FILE_STORE=true; use a database file instead, "
                "e.g. sqlite:///mlflow.db, or a server (http://127.0.0.1:5000)"
            )
        return value


def mlflow_tracker(params: Any) -> Any:
    """Record runs, curves, artifacts and registry versions in MLflow."""
    from textcls.plugins.mlflow_tracker import MlflowTracker

    return MlflowTracker(params)


@hookimpl
def textcls_register_trackers(register: Register) -> None:
    register(
        "mlflow",
        mlflow_tracker,
        params=MlflowParams,
        description="MLflow: one run per pipeline run (nested stage runs), training curves, "
        "artifacts, and the registry mirrored as model versions with a champion alias",
        capabilities=TrackerCapabilities(registry_mirror=True),
    )
