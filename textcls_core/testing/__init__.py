"""``textcls.testing``: the conformance kit a plugin author runs on their own components.

The same checks back ``textcls plugins check NAME...``. Each runs in seconds on tiny synthetic
data (``textcls.testing.toy``) and returns one ``CheckResult`` per check, so a failure says
which property broke and how to fix it. In a plugin's own test suite::

    from textcls.testing import assert_conforms

    def test_my_model_conforms(tmp_path):
        assert_conforms("bigru-attention", workdir=tmp_path)

The component must be loaded: installed (entry point), or registered on the plugin host with
``textcls.get_plugins().register(my_plugin_module)``.

- model: build, forward, loss, backward, train-steps, save-reload (identical logits), padding
  invariance, ONNX export within 1e-4, int8 quantization predicted through the ``Predictor``;
- distiller: build (``needs``), declared arguments of ``loss``, finite loss in the training
  loop, gradients reach the student;
- tokenizer: build, encode, save and reload with identical ids;
- data source: a file of bad bytes and a missing file get a ``DataError`` naming the file;
- quantizer: build (``precision``), apply to a small fp32 ONNX model, predict through the
  ``Predictor``;
- tracker: build, one whole run's events, a failed run, a champion move without a run.
- explainer: build, then on a small BERT's PyTorch folder and its ONNX export (each kind it
  declares): one finite score per word in order, a ``target`` honoured, an undeclared kind
  refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textcls.testing.distiller_checks import check_distiller
from textcls.testing.explainer_checks import check_explainer
from textcls.testing.model_checks import check_model
from textcls.testing.params import sample_params
from textcls.testing.quantizer_checks import check_quantizer
from textcls.testing.results import (
    Battery,
    CheckFailed,
    CheckResult,
    as_json,
    failures,
    format_results,
)
from textcls.testing.source_checks import check_source
from textcls.testing.tokenizer_checks import check_tokenizer
from textcls.testing.tracker_checks import check_tracker

#: The battery for each component kind that has one.
CHECKS: dict[str, Callable[..., list[CheckResult]]] = {
    "model": check_model,
    "distiller": check_distiller,
    "tokenizer": check_tokenizer,
    "data_source": check_source,
    "quantizer": check_quantizer,
    "tracker": check_tracker,
    "explainer": check_explainer,
}

__all__ = [
    "CHECKS",
    "Battery",
    "CheckFailed",
    "CheckResult",
    "as_json",
    "assert_conforms",
    "check_component",
    "check_distiller",
    "check_explainer",
    "check_model",
    "check_quantizer",
    "check_source",
    "check_tokenizer",
    "check_tracker",
    "failures",
    "format_results",
    "sample_params",
]


def check_component(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    kind: str | None = None,
    workdir: str | Path | None = None,
) -> list[CheckResult]:
    """Run the checks of every loaded component called ``name`` (of ``kind``, if given).

    ``params`` override the component's defaults; ``workdir`` keeps the files the checks write
    (a temporary folder, removed afterwards, when not given).
    """
    from textcls.plugin_manager import get_plugins

    host = get_plugins()
    if kind is not None:
        components = [host.component(kind, name)]
    else:
        components = host.find_components(name)
        if not components:
            from textcls.components import unknown_name_message
            from textcls.errors import UnknownComponentError

            every_name = sorted(
                {n for registry in host.registries.values() for n in registry.names()}
            )
            raise UnknownComponentError(unknown_name_message("component", name, every_name))
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="textcls-check-") as scratch:
        base = Path(workdir) if workdir is not None else Path(scratch)
        for component in components:
            check = CHECKS.get(component.kind)
            if check is None:
                battery = Battery(component.kind, component.name)
                battery.skip("all", f"no conformance checks for {component.kind} components yet")
                results += battery.results
                continue
            # Two plugins may register the same name: check each provider as plugin:name.
            providers = [
                c for c in host.find_components(component.name) if c.kind == component.kind
            ]
            target = component.qualified_name if len(providers) > 1 else component.name
            folder = base / f"{component.kind}-{component.plugin}-{component.name}"
            folder.mkdir(parents=True, exist_ok=True)
            results += check(target, params, workdir=folder)
    return results


def assert_conforms(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    kind: str | None = None,
    workdir: str | Path | None = None,
) -> list[CheckResult]:
    """Run ``check_component`` and fail (AssertionError with the report) when a check fails."""
    results = check_component(name, params, kind=kind, workdir=workdir)
    if failures(results):
        raise AssertionError(
            f"{name} fails the textcls conformance checks:\n" + format_results(results)
        )
    return results
