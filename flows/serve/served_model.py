"""The model being served, and the watcher that swaps in a new champion.

A ``ServedModel`` is immutable: the predictor plus who it is (pipeline, version, variant,
data fingerprint). The holder's ``current`` is one reference that the batcher reads once per
model call, so a swap is a single assignment: a batch already running keeps the model it
started with, the next batch uses the new one, and no request ever sees a half-loaded model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from textcls.model_reference import (
    ResolvedModel,
    follows_champion,
    open_registry,
    resolve_model,
    resolve_version,
)
from textcls.predictor import Predictor

logger = logging.getLogger("textcls.serve")


@dataclass(frozen=True)
class ServedModel:
    """A loaded predictor and the identity every response names."""

    resolved: ResolvedModel
    predictor: Predictor
    #: Measured at warm-up; the batcher runs calls it expects to be short on the event loop.
    seconds_per_text: float = float("inf")
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @cached_property
    def identity(self) -> dict[str, Any]:
        """Who answered (pipeline, version, variant, data fingerprint): in every response, so
        built once. Read only."""
        return self.resolved.describe()

    def metadata(self) -> dict[str, Any]:
        """Labels, identity, a model-card summary and the metrics recorded with the model."""
        meta = _model_meta(self.resolved)
        card = {
            "architecture": meta.get("model", {}).get("name"),
            "architecture_params": meta.get("model", {}).get("params", {}),
            "tokenizer": meta.get("tokenizer", {}).get("name"),
            "role": meta.get("role"),
            "backend": self.predictor.backend,
            "precision": (meta.get("onnx") or {}).get("precision", "fp32"),
            "max_length": self.predictor.max_length,
            "textcls_version": meta.get("textcls_version"),
        }
        return {
            "model": self.identity,
            "reference": self.resolved.reference,
            "labels": self.predictor.labels,
            "card": card,
            "metrics": _version_metrics(self.resolved) or meta.get("metrics", {}),
            "loaded_at": self.loaded_at,
        }


def load_served(resolved: ResolvedModel, threads: int | None) -> ServedModel:
    """Load and warm up: the first calls of a fresh session allocate buffers and are slow, and
    that cost belongs before /ready (or before a swap), not in the first users' latency."""
    predictor = Predictor.load(resolved.path, threads=threads)
    for size in (1, 8, 32):
        predictor.logits(["warm up the model before it serves"] * size, 32)
    # Time a few single-text calls (the costliest per text) once the buffers are warm.
    calls, started = 3, time.perf_counter()
    for _ in range(calls):
        predictor.logits(["time the model on a short single text"], 32)
    freeze_heap()
    return ServedModel(resolved, predictor, (time.perf_counter() - started) / calls)


def freeze_heap() -> None:
    """Keep the garbage collector's full passes off the millions of long-lived objects that
    torch and transformers create: one pass over them took 0.1-1.5 s on the shared 2-core
    machine, stalling every request in flight (the p99 at concurrency 64). Unfreezing first
    lets this pass collect a swapped-out model's reference cycles."""
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()


class ModelHolder:
    """Holds the served model; for ``FILE@champion``, follows promotions and rollbacks."""

    def __init__(
        self,
        reference: str,
        *,
        threads: int | None = None,
        on_install: Callable[[ServedModel, ServedModel | None], None] | None = None,
        on_reload_failure: Callable[[], None] | None = None,
    ) -> None:
        self.reference = reference
        self.threads = threads
        self.current: ServedModel | None = None
        self.load_error: str | None = None
        self._on_install = on_install
        self._on_reload_failure = on_reload_failure

    @property
    def follows_champion(self) -> bool:
        return follows_champion(self.reference)

    async def load(self) -> None:
        """Load the reference in a worker thread (the event loop keeps answering /health)."""
        try:
            served = await asyncio.to_thread(
                load_served, resolve_model(self.reference), self.threads
            )
        except Exception as exc:
            self.load_error = f"{self.reference}: {exc}"
            logger.error("cannot load %s", self.load_error)
            raise
        self._install(served)

    async def follow(self, poll_s: float) -> None:
        """Poll the registry's champion; load and swap in a new one when it changes."""
        if not self.follows_champion:
            return
        target = self.reference.rpartition("@")[0]
        registry = open_registry(target)
        failed: int | None = None  # a champion that would not load: not retried every poll
        while True:
            await asyncio.sleep(poll_s)
            champion, served = None, self.current
            try:
                champion = registry.champion()
                if champion in (None, failed) or served is None:
                    continue
                if champion == served.resolved.version:
                    failed = None
                    continue
                resolved = resolve_version(registry, champion, self.reference)
                self._install(await asyncio.to_thread(load_served, resolved, self.threads))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving the model we have; say why in the log
                failed = champion
                logger.error(
                    "keeping version %s: cannot load the new champion, version %s: %s",
                    served.resolved.version if served else None,
                    champion,
                    exc,
                )
                if self._on_reload_failure is not None:
                    self._on_reload_failure()

    def _install(self, served: ServedModel) -> None:
        previous = self.current
        self.current = served
        if previous is not None:
            logger.info(
                "swapped model: version %s -> %s",
                previous.resolved.version,
                served.resolved.version,
            )
        else:
            logger.info("serving %s (%s)", served.resolved.reference, served.identity)
        if self._on_install is not None:
            self._on_install(served, previous)


def _model_meta(resolved: ResolvedModel) -> dict[str, Any]:
    from textcls.model_folder import read_meta

    try:
        return read_meta(resolved.path)
    except Exception:  # metadata is informative; a served model loaded already
        return {}


def _version_metrics(resolved: ResolvedModel) -> dict[str, Any]:
    import json

    if resolved.version is None:
        return {}
    try:
        info = json.loads((resolved.path.parent / "version.json").read_text())
    except (OSError, ValueError):
        return {}
    metrics = info.get("metrics")
    return metrics if isinstance(metrics, dict) else {}
