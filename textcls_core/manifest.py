"""``manifest.json``: the lineage of one pipeline run.

The resolved config (credentials masked: a tracking URI's password or a source's token would
otherwise sit in every run folder and in the registry's copy), the data fingerprint, every
stage's artifact (path, sha256, cache key, whether it ran or came from the cache, seconds),
package versions, the git revision of the pipeline file's repository when there is one, the
host, and the lineage both ways: the Prefect flow run's id and each tracker's run id (the
MLflow run).
"""

from __future__ import annotations

import platform
import socket
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from textcls.artifacts import write_json_atomic
from textcls.tracking import redact_config
from textcls.version import __version__

PACKAGES = (
    "torch",
    "transformers",
    "datasets",
    "optimum",
    "onnxruntime",
    "prefect",
    "scikit-learn",
    "pluggy",
    "pydantic",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"textcls": __version__}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(folder: str | Path) -> str | None:
    """The commit of the repository holding ``folder``, with '+dirty' if it has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def write_manifest(path: Path, **fields: Any) -> dict[str, Any]:
    """Build the manifest from ``fields`` (see ``build_manifest``) and write it atomically."""
    manifest = build_manifest(**fields)
    write_json_atomic(path, manifest)
    return manifest


def build_manifest(
    *,
    pipeline: str,
    run_id: str,
    config: dict[str, Any],
    config_source: str | None,
    stages: dict[str, Any],
    data_fingerprint: str | None,
    started: datetime,
    status: str,
    error: str | None = None,
    registry: dict[str, Any] | None = None,
    prefect_flow_run_id: str | None = None,
    tracking: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A run's lineage record (``write_manifest`` writes it; the registry keeps a copy)."""
    return {
        "pipeline": pipeline,
        "run_id": run_id,
        "status": status,
        "error": error,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "config_file": config_source,
        "config": redact_config(config),
        "data_fingerprint": data_fingerprint,
        "stages": stages,
        "packages": package_versions(),
        "git_revision": git_revision(Path(config_source).parent) if config_source else None,
        "host": {
            "name": socket.gethostname(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "registry": registry,
        "prefect_flow_run_id": prefect_flow_run_id,
        #: each tracker's run id for this run (``{"mlflow": {"run_id": ...}}``)
        "tracking": tracking or {},
    }
