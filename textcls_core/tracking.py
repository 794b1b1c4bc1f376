"""Experiment trackers: what a pipeline run reports, and the session that fans it out.

A *tracker* is a plugin component (kind ``tracker``, hook ``textcls_register_trackers``)
whose factory returns a :class:`Tracker`. A pipeline file turns trackers on in its
``tracking`` section (none by default)::

    tracking:
      - {name: mlflow, params: {tracking_uri: http://127.0.0.1:5000, experiment: textcls}}

The flow opens a :class:`TrackingSession` over the configured trackers and reports the run to
it: the start (tags, flattened params), each stage (started, finished or cached, with the run
that produced a cached artifact), training metrics (a Trainer callback,
``textcls.training.tracking_callback``), artifacts, every variant's evaluation metrics, registry
events (a version registered, the ``champion`` alias moved) and the end.

Why a session between the flow and the trackers: tracking is an observer. A tracker that
raises (server down, bad URI, a bug) is logged once as a warning and switched off for the rest
of the session; the pipeline, and the other trackers, go on. textcls's own files (run folder,
manifest, registry) stay the source of truth.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textcls.config import PipelineConfig
    from textcls.plugin_manager import PluginHost

log = logging.getLogger("textcls.tracking")

#: Every method a tracker has (the ``Tracker`` base class gives each a no-op default).
TRACKER_METHODS = (
    "start_run",
    "set_tags",
    "stage_started",
    "stage_finished",
    "log_metrics",
    "log_artifact",
    "log_evaluation",
    "model_registered",
    "alias_moved",
    "end_run",
)


@dataclass(frozen=True)
class RunStart:
    """What a tracker learns when a pipeline run starts."""

    pipeline: str
    run_id: str
    #: e.g. ``textcls.pipeline``, ``textcls.run_id``, ``textcls.prefect_flow_run_id``,
    #: ``textcls.git_revision``, ``textcls.package.<name>``
    tags: dict[str, str]
    #: the validated config, flattened to dotted keys (``teacher.train.epochs``)
    params: dict[str, str]


@dataclass(frozen=True)
class StageOutcome:
    """How a stage ended: ``ran``, ``reused`` or ``cached`` (or a register status)."""

    stage: str
    status: str
    seconds: float
    #: path, sha256, stage (an artifact stage) or version (the register step)
    artifact: dict[str, Any]
    #: for a stage that did not run here: the earlier run that produced its artifact,
    #: ``{"run_id": ..., "tracking": {tracker name: {"run_id": ...}}}``, when it is known
    produced_by: dict[str, Any] | None = None

    @property
    def cached(self) -> bool:
        return self.status in ("cached", "reused")


@dataclass(frozen=True)
class RegistryEvent:
    """A registry change to mirror: a version registered, or the champion alias moved."""

    pipeline: str
    version: int
    #: ``registered`` (a new version; ``promoted`` says whether it became champion),
    #: ``promote`` or ``rollback`` (the alias moved by hand)
    action: str
    promoted: bool
    reason: str
    alias: str = "champion"
    #: the registered model folder (``registered`` only)
    model_dir: str | None = None
    #: the decision's fields, as strings, for tags
    tags: dict[str, str] = field(default_factory=dict)
    #: the textcls run that registered it
    run_id: str | None = None


class Tracker:
    """Base class of trackers: every event is a no-op until a subclass overrides it.

    A tracker may keep state for one pipeline run (the flow creates it afresh per run).
    ``start_run`` returns the tracker's own run id (recorded in the manifest's ``tracking``),
    or None. Registry events (``model_registered``, ``alias_moved``) also arrive without a run
    when ``textcls registry promote|rollback`` moves the champion.
    """

    def start_run(self, run: RunStart) -> str | None:
        """A pipeline run starts; return this tracker's run id (or None)."""
        return None

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tags learnt during the run (the data fingerprint, after ingest)."""

    def stage_started(self, stage: str, config: dict[str, Any]) -> None:
        """A stage starts, with its own config section."""

    def stage_finished(self, outcome: StageOutcome) -> None:
        """A stage finished: it ran, or its artifact came from the store (``produced_by``)."""

    def log_metrics(self, stage: str | None, metrics: dict[str, float], step: int) -> None:
        """Metrics at a step: training and validation curves (``stage`` names the stage)."""

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        """A file or folder worth keeping beside the run (reports, plots, cards, manifest)."""

    def log_evaluation(self, variant: str, metrics: dict[str, float]) -> None:
        """One evaluated variant's metrics (quality and cost)."""

    def model_registered(self, event: RegistryEvent) -> None:
        """A version was added to textcls's registry (and perhaps promoted)."""

    def alias_moved(self, event: RegistryEvent) -> None:
        """The champion changed by hand: ``textcls registry promote`` or ``rollback``."""

    def end_run(self, status: str) -> None:
        """The pipeline run ended: ``completed``, ``failed`` or ``cancelled``."""


_current: contextvars.ContextVar[TrackingSession | None] = contextvars.ContextVar(
    "textcls_tracking", default=None
)


def current() -> TrackingSession | None:
    """The session of the pipeline run in progress in this context, if tracking is on."""
    return _current.get()


@contextmanager
def untracked() -> Iterator[None]:
    """No session in this context: training here (e.g. the label-issue check's per-fold
    teacher fine-tunes at ingest) must not report its curves as a stage of the run."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class TrackingSession:
    """Fans every event out to the configured trackers; a failing tracker is switched off.

    Each tracker's first error is logged as one warning naming the tracker, and that tracker
    gets no further events in this session: a server that is down costs one timeout, not one
    per metric, and never fails the pipeline.
    """

    def __init__(self, trackers: Mapping[str, Tracker] | None = None) -> None:
        self.trackers: dict[str, Tracker] = dict(trackers or {})
        self.failed: dict[str, str] = {}
        #: tracker name -> its run id (``start_run``'s answer)
        self.run_ids: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.trackers)

    def _each(self, method: str, *args: Any) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for name, tracker in self.trackers.items():
            if name in self.failed:
                continue
            try:
                answers[name] = getattr(tracker, method)(*args)
            except Exception as exc:  # noqa: BLE001 - a tracker never fails the pipeline
                self.switch_off(name, method, exc)
        return answers

    def switch_off(self, name: str, method: str, exc: BaseException) -> None:
        """Record a tracker's first error (credentials masked) and warn once."""
        error = redact(f"{type(exc).__name__}: {exc}")
        self.failed[name] = error
        log.warning(
            "tracker %r failed in %s and is off for the rest of this run (the pipeline goes "
            "on; textcls's own files are complete): %s",
            name,
            method,
            error,
        )

    def start_run(self, run: RunStart) -> dict[str, str]:
        answers = self._each("start_run", run)
        self.run_ids = {n: str(a) for n, a in answers.items() if a is not None}
        return self.run_ids

    def set_tags(self, tags: dict[str, str]) -> None:
        self._each("set_tags", tags)

    def stage_started(self, stage: str, config: dict[str, Any]) -> None:
        self._each("stage_started", stage, redact_config(config))

    def stage_finished(self, outcome: StageOutcome) -> None:
        self._each("stage_finished", outcome)

    def log_metrics(self, stage: str | None, metrics: dict[str, float], step: int) -> None:
        if metrics:
            self._each("log_metrics", stage, metrics, step)

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        self._each("log_artifact", path, artifact_path)

    def log_evaluation(self, variant: str, metrics: dict[str, float]) -> None:
        self._each("log_evaluation", variant, metrics)

    def model_registered(self, event: RegistryEvent) -> None:
        self._each("model_registered", event)

    def alias_moved(self, event: RegistryEvent) -> None:
        self._each("alias_moved", event)

    def end_run(self, status: str) -> None:
        self._each("end_run", status)

    def lineage(self) -> dict[str, dict[str, str]]:
        """What the manifest records: each tracker's run id (and whether it failed)."""
        record: dict[str, dict[str, str]] = {
            name: {"run_id": run_id} for name, run_id in self.run_ids.items()
        }
        for name, error in self.failed.items():
            record.setdefault(name, {})["error"] = error
        return record

    @contextmanager
    def active(self) -> Iterator[TrackingSession]:
        """Make this the session that training callbacks report to, in this context."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def open_tracking(config: PipelineConfig, plugins: PluginHost) -> TrackingSession:
    """A session over the pipeline's ``tracking`` section (empty when it has none).

    A tracker whose extra is not installed raises its ``TextclsError`` (a ConfigError naming
    the extra): that is an install problem, found before anything trains. Any other error of a
    tracker's factory (a third-party tracker that connects in ``__init__``) is a tracker
    failure like any other: one warning, and the run goes on without that tracker.
    """
    from textcls.errors import TextclsError

    trackers: dict[str, Tracker] = {}
    broken: list[tuple[str, BaseException]] = []
    for ref in config.tracking:
        component = plugins.component("tracker", ref.name)
        label = ref.name
        n = 2
        while label in trackers or any(label == b for b, _ in broken):
            label, n = f"{ref.name}-{n}", n + 1  # the same tracker twice (two MLflow servers)
        try:
            trackers[label] = component.create(ref.params)
        except TextclsError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tracker never fails the pipeline
            broken.append((label, exc))
    session = TrackingSession(trackers)
    for label, error in broken:
        session.switch_off(label, "its factory", error)
    return session


#: ``scheme://user:password@host``: the password part of a URI's user info
_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@")
#: config keys whose values are credentials (``token``, ``hf_token``, ``api_key``, ...)
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|secret|token|api_?key|credentials?)$", re.IGNORECASE
)
MASK = "***"


def redact(text: str) -> str:
    """``http://user:pw@host`` -> ``http://user:***@host`` anywhere in ``text``.

    Why: a tracking URI may carry basic-auth credentials (MLflow accepts them), and params,
    tags and error messages go to a shared tracking server and into the manifest.
    """
    return _URI_PASSWORD.sub(rf"\g<head>:{MASK}@", text)


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    """Flattened params safe to send to a tracker: credentials in URIs masked, and the value
    of any key that names a secret (``...token``, ``...password``, ``...api_key``) masked."""
    masked: dict[str, str] = {}
    for key, value in params.items():
        secret = value != "None" and _SECRET_KEY.search(key.rsplit(".", 1)[-1])
        masked[key] = MASK if secret else redact(value)
    return masked


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"teacher": {"train": {"epochs": 3}}}`` -> ``{"teacher.train.epochs": "3"}``.

    Lists of sections are indexed (``quantize.0.name``); a list of plain values stays one
    value. None is kept as ``"None"`` so a param says a section was off.
    """
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value:
                flat.update(flatten_params(value, f"{name}."))
            else:
                flat[name] = "{}"
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                flat.update(flatten_params(item, f"{name}.{i}."))
        else:
            flat[name] = str(value)
    return flat


def evaluation_metrics(variant: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one variant of ``report.json`` (quality and cost), flattened."""
    metrics: dict[str, float] = {}
    for section in ("quality", "cost"):
        for key, value in (variant.get(section) or {}).items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                metrics[key] = float(value)
    return metrics


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config section with credentials masked as :func:`redact_params` masks them (a stage's
    section goes to every tracker, a source's ``token`` param included)."""

    def clean(key: str, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(key, v) for v in value]
        if value is not None and _SECRET_KEY.search(key) and not isinstance(value, bool):
            return MASK
        return redact(value) if isinstance(value, str) else value

    return {str(k): clean(str(k), v) for k, v in config.items()}
