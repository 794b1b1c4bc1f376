"""Deciding when a pipeline's data has changed enough to retrain. Orchestration-free.

The watcher polls. Each look is cheap when nothing happened: it compares the input files'
sizes and modification times with the last look and hashes nothing. Only when the stats moved
does it hash the files' contents, so a ``touch`` or a copy that rewrites identical bytes is
recognised as no change.

Two reasons to ask for a retrain:

- *edge*: the content fingerprint differs from the last look's;
- *catch-up*: the content is what the watcher saw before, but the last successful retrain
  trained on something else (its event was coalesced away, or the retrain failed), no retrain
  is queued or running, and the last request is older than ``retry_after_s``. Without it, a
  change that lands while a retrain is running could go untrained until the next change.

The first look records a baseline and asks for nothing: the initial model comes from a first
``textcls run`` or the nightly schedule, not from switching the watcher on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textcls.config import PipelineConfig
from textcls.contracts import DataSourceCapabilities
from textcls.data.files import expand_inputs
from textcls.data.fingerprint import source_stats, sources_sha256
from textcls.errors import ConfigError

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

EVENT = "textcls.dataset.updated"


def resource_id(pipeline: str) -> str:
    return f"textcls.dataset.{pipeline}"


def state_key(prefix: str, pipeline: str) -> str:
    """A Prefect-variable-safe name (lowercase letters, digits, dashes, underscores)."""
    return f"{prefix}-{re.sub(r'[^a-z0-9_-]+', '-', pipeline.lower()).strip('-')}"


def watched_files(config: PipelineConfig, plugins: PluginHost) -> list[str]:
    """The local files behind the data section, in a stable order."""
    component = plugins.component("data_source", config.data.source.name)
    if not component.capabilities_as(DataSourceCapabilities).local_files:
        raise ConfigError(
            f"data.source: the watcher needs local files, and {config.data.source.name!r} "
            "reads from elsewhere; schedule the pipeline instead (the nightly deployment)"
        )
    files: list[str] = []
    for name in ("train", "validation", "test"):
        value = getattr(config.data, name)
        if value is not None:
            files += expand_inputs(value, f"data.{name}")
    return files


def stats_digest(files: list[str]) -> str:
    blob = json.dumps(source_stats(files), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def content_fingerprint(files: list[str]) -> str:
    return sources_sha256(files)


@dataclass
class WatchDecision:
    state: dict[str, Any]
    emit: bool
    reason: str

    @property
    def fingerprint(self) -> str:
        fingerprint: str = self.state["fingerprint"]
        return fingerprint


def decide(
    previous: dict[str, Any] | None,
    stats: str,
    fingerprint: Callable[[], str],
    trained: str | None,
    in_flight: Callable[[], bool],
    now: float,
    retry_after_s: float,
) -> WatchDecision:
    """One look: the new state to keep, and whether to emit a dataset-updated event."""
    if previous is None:
        state: dict[str, Any] = {
            "stats": stats,
            "fingerprint": fingerprint(),
            "requested_at": None,
        }
        if trained is not None and trained != state["fingerprint"]:
            state["requested_at"] = now
            return WatchDecision(state, True, "catch-up: the data differs from the last training")
        return WatchDecision(state, False, "first look: baseline recorded")
    if stats == previous["stats"]:
        current = previous["fingerprint"]
    else:
        current = fingerprint()
    state = {**previous, "stats": stats, "fingerprint": current}  # same keys as above
    if current != previous["fingerprint"]:
        state["requested_at"] = now
        return WatchDecision(state, True, "data changed")
    if trained is None or trained == current:
        touched = stats != previous["stats"]
        return WatchDecision(
            state, False, "files touched, content unchanged" if touched else "unchanged"
        )
    requested = previous.get("requested_at")
    if requested is not None and now - requested < retry_after_s:
        return WatchDecision(state, False, "not trained yet; a retrain was requested recently")
    if in_flight():
        return WatchDecision(state, False, "not trained yet; a retrain is queued or running")
    state["requested_at"] = now
    return WatchDecision(state, True, "catch-up: the data differs from the last training")
