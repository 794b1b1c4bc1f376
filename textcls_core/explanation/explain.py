"""Run an explainer component on texts, check its answers, and shape them for people and programs.

``explain_texts(subject, texts, method=..., target=...)`` predicts each text through the one
Predictor, asks the explainer for one score per word toward the predicted label (or ``target``),
and returns :class:`Explanation` objects in input order. Bad input is refused before any model
runs: an unknown method (with the closest name), a method that cannot explain this kind of model
folder (naming one that can), an unknown target label (listing the labels), an empty text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from textcls.errors import ConfigError, DataError, PluginError, TextclsError
from textcls.explanation.subject import Attribution, ExplainSubject

#: The method used when none is named: gradients where there are some, occlusion elsewhere.
DEFAULT_METHODS = {"pytorch": "integrated-gradients", "onnx": "occlusion"}


@dataclass(frozen=True)
class WordScore:
    word: str
    attribution: float


@dataclass
class Explanation:
    """One explained prediction: the label, its probability, and a score per word in order."""

    text: str
    label: str
    probability: float
    method: str
    target: str
    target_probability: float
    tokens: list[WordScore]
    details: dict[str, float] = field(default_factory=dict)

    def top(self, k: int = 5) -> list[WordScore]:
        """The ``k`` words that pushed most toward the target, strongest first."""
        ranked = sorted(self.tokens, key=lambda t: -t.attribution)
        return [t for t in ranked[:k] if t.attribution > 0] or ranked[:1]

    def as_json(self) -> dict[str, Any]:
        """``text``, ``label``, ``probability``, ``method``, ``target``, ``tokens`` (in text
        order, ``{"word", "attribution"}``), and the method's ``details``."""
        return {
            "text": self.text,
            "label": self.label,
            "probability": self.probability,
            "method": self.method,
            "target": self.target,
            "target_probability": self.target_probability,
            "tokens": [{"word": t.word, "attribution": t.attribution} for t in self.tokens],
            "details": dict(self.details),
        }


def default_method(kind: str) -> str:
    """The explainer used when none is named, for a ``pytorch`` or ``onnx`` folder."""
    return DEFAULT_METHODS[kind]


def explainer_for(
    subject: ExplainSubject,
    method: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    plugins: Any = None,
) -> tuple[str, Any]:
    """The method's name and a built explainer that can explain ``subject``'s kind of folder."""
    from textcls.contracts import ExplainerCapabilities
    from textcls.plugin_manager import get_plugins

    host = plugins or get_plugins()
    name = method or default_method(subject.kind)
    component = host.component("explainer", name)  # unknown: names the closest and all
    kinds = component.capabilities_as(ExplainerCapabilities).model_kinds
    if subject.kind not in kinds:
        able = [
            n
            for n in host.registry("explainer").names()
            if subject.kind
            in host.component("explainer", n).capabilities_as(ExplainerCapabilities).model_kinds
        ]
        raise ConfigError(
            f"explainer {name!r} explains {' and '.join(sorted(kinds))} model folders; "
            f"{subject.folder} is an {subject.kind} folder. Use --method "
            f"{' or '.join(able) or '(none loaded)'}, or explain the PyTorch folder it came from"
        )
    try:
        return name, component.create(params)
    except Exception as exc:  # pydantic's ValidationError: bad params
        if isinstance(exc, PluginError | ConfigError):
            raise
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise ConfigError(f"explainer {name!r}: invalid params: {exc}") from None
        raise


def check_texts(texts: Sequence[str]) -> None:
    """Refuse an empty list and texts with no words, naming the first bad one."""
    if not texts:
        raise DataError("no texts to explain; pass texts as arguments or --file FILE")
    for number, text in enumerate(texts, 1):
        if not isinstance(text, str) or not text.strip():
            raise DataError(
                f"text {number} is empty; every text to explain needs at least one word"
            )


def target_index(labels: Sequence[str], target: str | None) -> int | None:
    """The class index of ``target`` (a label name), or None for the predicted label."""
    if target is None:
        return None
    if target in labels:
        return list(labels).index(target)
    raise DataError(
        f"unknown target label {target!r}; this model's labels are: {', '.join(labels)}"
    )


def explain_texts(
    subject: ExplainSubject,
    texts: Sequence[str],
    *,
    method: str | None = None,
    target: str | None = None,
    params: Mapping[str, Any] | None = None,
    plugins: Any = None,
    probabilities: np.ndarray | None = None,
) -> list[Explanation]:
    """Explain each text's prediction toward its predicted label, or ``target`` for all.

    ``probabilities`` (N, C): the texts' class probabilities as ``subject``'s Predictor gives
    them, when the caller has them already (the evaluation scored these very texts); the
    texts are then not predicted a second time.
    """
    texts = list(texts)
    check_texts(texts)
    fixed = target_index(subject.labels, target)
    name, explainer = explainer_for(subject, method, params, plugins=plugins)
    if probabilities is None:
        probabilities = subject.probabilities(texts)
    elif np.shape(probabilities) != (len(texts), len(subject.labels)):
        raise ValueError(
            f"probabilities of shape {np.shape(probabilities)} for {len(texts)} texts and "
            f"{len(subject.labels)} labels; give one row per text, one column per label"
        )
    unusable = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
    if len(unusable):
        raise DataError(
            f"text {unusable[0] + 1} ({texts[unusable[0]][:40]!r}) gets no prediction from "
            f"{subject.folder} (NaN): its tokenizer leaves no tokens of it; give a text with "
            "words the model knows"
        )
    predicted = probabilities.argmax(axis=1)
    targets = [int(fixed if fixed is not None else p) for p in predicted]
    try:
        answers = explainer.explain(subject, texts, targets)
    except TextclsError:
        raise
    except Exception as exc:  # a plugin's bug: name it instead of printing its traceback
        raise PluginError(
            f"explainer {name!r} failed on {subject.folder} ({subject.kind}): "
            f"{type(exc).__name__}: {exc}. Run with --debug for the traceback, or use another "
            "--method (textcls plugins list)"
        ) from exc
    attributions = check_answers(name, subject, texts, answers)
    labels = subject.labels
    return [
        Explanation(
            text=text,
            label=labels[int(predicted[i])],
            probability=float(probabilities[i, predicted[i]]),
            method=name,
            target=labels[targets[i]],
            target_probability=float(probabilities[i, targets[i]]),
            tokens=[
                WordScore(word.text, float(score))
                for word, score in zip(subject.words(text), attributions[i].scores, strict=True)
            ],
            details=dict(attributions[i].details),
        )
        for i, text in enumerate(texts)
    ]


def check_answers(
    name: str, subject: ExplainSubject, texts: Sequence[str], answers: Any
) -> list[Attribution]:
    """One Attribution per text with one finite score per word, or a PluginError naming it."""
    answers = list(answers)
    if len(answers) != len(texts):
        raise PluginError(
            f"explainer {name!r} returned {len(answers)} attributions for {len(texts)} texts"
        )
    checked = []
    for number, (text, answer) in enumerate(zip(texts, answers, strict=True), 1):
        attribution = answer if isinstance(answer, Attribution) else Attribution(list(answer))
        scores = np.asarray(attribution.scores, dtype=np.float64)
        words = len(subject.words(text))
        if scores.shape != (words,):
            raise PluginError(
                f"explainer {name!r} gave {scores.size} scores for text {number}, which has "
                f"{words} words (subject.words(text)); give one score per word"
            )
        if not np.isfinite(scores).all() or not all(
            math.isfinite(v) for v in attribution.details.values()
        ):
            raise PluginError(f"explainer {name!r} gave NaN or infinite scores for text {number}")
        checked.append(Attribution(scores.tolist(), dict(attribution.details)))
    return checked
