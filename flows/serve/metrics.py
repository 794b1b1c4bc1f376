"""Prometheus metrics of one server process (``GET /metrics``).

Each app gets its own ``CollectorRegistry``, so two apps in one process (tests) do not clash.
With ``--workers N`` each worker process counts its own requests; scale out with replicas of
one worker each (docs/serve.md) and Prometheus sums over the pods.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServeMetrics:
    """Requests, latency, batch sizes, errors, swaps and the model version."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "textcls_serve_requests",
            "Prediction requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "textcls_serve_errors",
            "Rejected or failed prediction requests by error type",
            ["type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "textcls_serve_request_latency_seconds",
            "Time from a prediction request's arrival to its answer",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.texts = Counter("textcls_serve_texts", "Texts classified", registry=self.registry)
        self.batch_texts = Histogram(
            "textcls_serve_batch_texts",
            "Texts per model call (dynamic batching)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "textcls_serve_batch_requests",
            "Requests gathered into one model call",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "textcls_serve_model_call_seconds",
            "Duration of one model call",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_version = Gauge(
            "textcls_serve_model_version",
            "Registry version being served (0 for a model folder)",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "textcls_serve_model_info",
            "The served model (value 1 on the current one)",
            ["pipeline", "version", "variant"],
            registry=self.registry,
        )
        self.swaps = Counter(
            "textcls_serve_model_swaps",
            "Models swapped in after a registry promotion or rollback",
            registry=self.registry,
        )
        self.reload_failures = Counter(
            "textcls_serve_model_reload_failures",
            "New champions that could not be loaded (the previous model kept serving)",
            registry=self.registry,
        )

    def observe_batch(self, texts: int, requests: int, seconds: float) -> None:
        self.batch_texts.observe(texts)
        self.batch_requests.observe(requests)
        self.model_seconds.observe(seconds)

    def model_loaded(self, identity: dict[str, object], first: bool) -> None:
        self.model_info.clear()
        labels = [identity.get(key) for key in ("pipeline", "version", "variant")]
        self.model_info.labels(*("" if value is None else str(value) for value in labels)).set(1)
        version = identity.get("version")
        self.model_version.set(version if isinstance(version, int) else 0)
        if not first:
            self.swaps.inc()
