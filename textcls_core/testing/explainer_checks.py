"""The conformance battery for an explainer component.

A small BERT classifier (the built-in ``transformer`` model, random weights, the toy tokenizer)
is saved as a PyTorch model folder and exported to ONNX; the explainer explains the toy texts
on each kind of folder it declares (``model_kinds``), through ``textcls.explanation`` as
``textcls explain`` runs it: one finite score per word, in order, toward the predicted label
and toward another label; and a kind it does not declare is refused before it runs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.testing.toy import LABELS, MAX_LENGTH, TEXTS, toy_tokenizer


def check_explainer(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every explainer check on the explainer component ``name``."""
    from textcls.contracts import ExplainerCapabilities
    from textcls.plugin_manager import get_plugins

    component = get_plugins().component("explainer", name)
    kinds = component.capabilities_as(ExplainerCapabilities).model_kinds
    work = Path(workdir)
    state = SimpleNamespace(params=sample_params(component, params), name=name)
    battery = Battery("explainer", name)
    battery.run("build", lambda: _build(state, component))
    battery.run("folders", lambda: _folders(state, work), needs=["build"])
    for kind in ("pytorch", "onnx"):
        if kind in kinds:
            battery.run(f"explain {kind}", lambda k=kind: _explain(state, k), needs=["folders"])
            battery.run(f"target {kind}", lambda k=kind: _target(state, k), needs=["folders"])
        else:
            battery.run(f"refuses {kind}", lambda k=kind: _refuses(state, k), needs=["folders"])
    return battery.results


def _build(state: SimpleNamespace, component: Any) -> str:
    state.explainer = component.create(state.params)
    return type(state.explainer).__name__


#: The small BERT the checks explain (the architecture of the hf teachers).
TINY_BERT = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "max_position_embeddings": 64}


def model_folders(
    work: Path, model: str = "transformer", params: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """A randomly initialised ``model`` on the toy tokenizer, saved as a PyTorch model folder
    (``work/pytorch``) and exported to an fp32 ONNX one (``work/onnx``)."""
    from textcls.model_folder import write_model_folder
    from textcls.onnx_export import export_onnx
    from textcls.plugin_api import ModelContext
    from textcls.plugin_manager import get_plugins

    params = dict(TINY_BERT if params is None else params)
    tokenizer = toy_tokenizer()
    context = ModelContext(
        num_labels=len(LABELS),
        label_names=LABELS,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    built = get_plugins().component("model", model).create(params, context=context)
    built.eval()
    pytorch, onnx = work / "pytorch", work / "onnx"
    pytorch.mkdir(parents=True)
    meta = {
        "model": {"name": model, "params": params},
        "labels": list(LABELS),
        "train": {"max_length": MAX_LENGTH},
    }
    write_model_folder(pytorch, built, tokenizer, meta)
    export_onnx(pytorch, onnx)
    return pytorch, onnx


def _folders(state: SimpleNamespace, work: Path) -> str:
    state.pytorch, state.onnx = model_folders(work)
    return "a 1-layer BERT as a PyTorch folder and its ONNX export"


def _subject(state: SimpleNamespace, kind: str) -> Any:
    from textcls.explanation.subject import ExplainSubject

    return ExplainSubject(state.pytorch if kind == "pytorch" else state.onnx)


def _explain(state: SimpleNamespace, kind: str) -> str:
    from textcls.explanation.explain import explain_texts

    explanations = explain_texts(_subject(state, kind), list(TEXTS), method=state.name)
    for explanation, text in zip(explanations, TEXTS, strict=True):
        if [t.word for t in explanation.tokens] != [w.text for w in _subject_words(text)]:
            raise CheckFailed(f"the words of {text!r} came back out of order")
    if all(t.attribution == 0 for e in explanations for t in e.tokens):
        raise CheckFailed("every score is 0: the explainer attributes nothing")
    words = sum(len(e.tokens) for e in explanations)
    return f"{len(explanations)} texts, {words} words scored"


def _subject_words(text: str) -> Any:
    from textcls.explanation.words import split_words

    return split_words(text)


def _target(state: SimpleNamespace, kind: str) -> str:
    from textcls.explanation.explain import explain_texts

    explanations = explain_texts(
        _subject(state, kind), list(TEXTS[:2]), method=state.name, target=LABELS[0]
    )
    if any(e.target != LABELS[0] for e in explanations):
        raise CheckFailed(f"asked for target {LABELS[0]!r}, got {[e.target for e in explanations]}")
    return f"toward {LABELS[0]!r}"


def _refuses(state: SimpleNamespace, kind: str) -> str:
    from textcls.errors import ConfigError
    from textcls.explanation.explain import explain_texts

    try:
        explain_texts(_subject(state, kind), list(TEXTS[:1]), method=state.name)
    except ConfigError as exc:
        return f"refused: {str(exc)[:60]}..."
    raise CheckFailed(f"explained an {kind} folder, which its model_kinds do not declare")
