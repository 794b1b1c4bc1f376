"""Every hook a textcls plugin can implement, in one place.

Registration hooks are callback style: textcls passes ``register`` (``textcls.Register``) and the
plugin calls it once per component, so one plugin can add several components of a kind:
``register(name, factory, params=ParamsModel, description="one line", capabilities=...)``.
Each call is checked against the kind's contract (``textcls.contracts``). An implementation may
declare any subset of a hook's arguments; pluggy passes only those.

``docs/plugins.md`` documents each hook with its exact signature; ``tests/test_docs.py`` fails when
one is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from textcls.contracts import Register

PROJECT_NAME = "textcls"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def textcls_register_data_sources(register: Register) -> None:
    """Register data sources: readers that turn files or datasets into text/label rows."""


@hookspec
def textcls_register_tokenizers(register: Register) -> None:
    """Register tokenizers: factories that build or train a PreTrainedTokenizerFast."""


@hookspec
def textcls_register_models(register: Register) -> None:
    """Register model architectures: PreTrainedModel subclasses for sequence classification."""


@hookspec
def textcls_register_distillers(register: Register) -> None:
    """Register distillation strategies: losses that move a teacher's knowledge to a student."""


@hookspec
def textcls_register_quantizers(register: Register) -> None:
    """Register quantizers: export and compression recipes (ONNX fp32, int8, fp16)."""


@hookspec(firstresult=True)
def textcls_resolve_pretrained(name: str) -> str | None:
    """Return a local folder for a pretrained model name, or None to let the next resolver try."""


@hookspec
def textcls_stage_started(stage: str, run_dir: str, config: dict[str, Any]) -> None:
    """Called before a pipeline stage runs, with the stage's own config section."""


@hookspec
def textcls_stage_finished(stage: str, run_dir: str, artifact: dict[str, Any]) -> None:
    """Called after a stage wrote its artifact; ``artifact`` holds path, sha256 and stage."""


@hookspec
def textcls_stage_failed(stage: str, run_dir: str, error: BaseException) -> None:
    """Called when a stage raises, before the error propagates."""


@hookspec
def textcls_register_trackers(register: Register) -> None:
    """Register experiment trackers: record runs, metric curves, artifacts and registry events."""


@hookspec
def textcls_register_explainers(register: Register) -> None:
    """Register explainers: attribution methods that score each word of a prediction."""
