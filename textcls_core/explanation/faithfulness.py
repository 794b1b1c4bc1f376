"""Faithfulness measured, not assumed: the deletion test and the area over the perturbation curve.

For each explained text, remove its k highest-attributed words (k = 1..K) and measure how much
the probability of the explained class drops; do the same with k words chosen at random. An
attribution that finds what the model relies on makes the probability drop faster than chance.
AOPC (Samek et al., 2017; DeYoung et al., 2020's "comprehensiveness") is the mean drop over
k = 1..K, per text; the method beats the random baseline when the paired difference of the two
AOPCs, averaged over texts, has a bootstrap interval above zero (``scipy.stats.bootstrap``
through ``textcls.evaluation.intervals``). Every perturbed text of every explained text goes
through the one Predictor in batches, so any model folder can be measured, ONNX int8 included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from textcls.explanation.explain import Explanation
from textcls.explanation.subject import ExplainSubject

MAX_K = 5
RANDOM_DRAWS = 3


@dataclass
class Faithfulness:
    """Deletion-test results of one method on one model, over ``texts`` explained texts."""

    texts: int
    k: int
    #: mean drop of the explained class's probability after removing the top-k words, k=1..K
    curve: list[float]
    #: the same after removing k random words (mean of RANDOM_DRAWS draws per text)
    random_curve: list[float]
    aopc: float
    aopc_ci95: tuple[float, float]
    random_aopc: float
    random_aopc_ci95: tuple[float, float]
    #: mean over texts of (AOPC - random AOPC), paired per text, with its interval
    difference: float
    difference_ci95: tuple[float, float]

    @property
    def beats_random(self) -> bool:
        """The difference's whole interval is above zero."""
        return self.difference_ci95[0] > 0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "beats_random": self.beats_random}


def deletion_drops(
    subject: ExplainSubject,
    explanations: Sequence[Explanation],
    *,
    k: int = MAX_K,
    draws: int = RANDOM_DRAWS,
    seed: int = 0,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Drops (N, k) after removing the top-1..k words, and after removing 1..k random words.

    A text with fewer than k words has all its words removed for the larger k. Ties in the
    attributions are broken by position (earlier first), never by chance.
    """
    rng = np.random.default_rng(seed)
    labels = subject.labels
    perturbed: list[str] = []
    for explanation in explanations:
        scores = np.asarray([t.attribution for t in explanation.tokens])
        n = len(scores)
        order = np.argsort(-scores, kind="stable")
        for j in range(1, k + 1):
            perturbed.append(subject.without(explanation.text, order[: min(j, n)].tolist()))
        for _ in range(draws):
            shuffled = rng.permutation(n)
            for j in range(1, k + 1):
                perturbed.append(subject.without(explanation.text, shuffled[: min(j, n)].tolist()))
    originals = subject.probabilities([e.text for e in explanations], batch_size)
    probabilities = subject.probabilities(perturbed, batch_size)
    per_text = k + draws * k
    top = np.zeros((len(explanations), k))
    random = np.zeros((len(explanations), k))
    for i, explanation in enumerate(explanations):
        target = labels.index(explanation.target)
        block = probabilities[i * per_text : (i + 1) * per_text, target]
        before = originals[i, target]
        top[i] = before - block[:k]
        random[i] = (before - block[k:].reshape(draws, k)).mean(axis=0)
    return top, random


def faithfulness(
    subject: ExplainSubject,
    explanations: Sequence[Explanation],
    *,
    k: int = MAX_K,
    draws: int = RANDOM_DRAWS,
    seed: int = 0,
) -> Faithfulness:
    """The deletion test and AOPC of ``explanations`` (of one method) on ``subject``."""
    from textcls.evaluation.intervals import mean_interval

    top, random = deletion_drops(subject, explanations, k=k, draws=draws, seed=seed)
    aopc, random_aopc = top.mean(axis=1), random.mean(axis=1)
    return Faithfulness(
        texts=len(explanations),
        k=k,
        curve=top.mean(axis=0).tolist(),
        random_curve=random.mean(axis=0).tolist(),
        aopc=float(aopc.mean()),
        aopc_ci95=mean_interval(aopc, seed=seed),
        random_aopc=float(random_aopc.mean()),
        random_aopc_ci95=mean_interval(random_aopc, seed=seed),
        difference=float((aopc - random_aopc).mean()),
        difference_ci95=mean_interval(aopc - random_aopc, seed=seed),
    )
