"""Classic baselines trained inside the evaluation, on the same split: what to beat.

``tfidf-logreg``: word uni- and bigram TF-IDF with logistic regression (scikit-learn).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from textcls.errors import ConfigError


def tfidf_logreg(train_texts: Sequence[str], train_labels: Sequence[int], seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        # saga, as the label-issue check (textcls_core/data/label_issues.py): on sparse uni- and
        # bigrams scikit-learn's default lbfgs is many times slower and stops farther from the
        # optimum
        LogisticRegression(max_iter=2000, C=4.0, random_state=seed, solver="saga"),
    )
    return model.fit(list(train_texts), list(train_labels))


BASELINES: dict[str, Callable[..., Any]] = {"tfidf-logreg": tfidf_logreg}


def run_baseline(
    name: str,
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    eval_texts: Sequence[str],
    num_labels: int,
    seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit a baseline; return its probabilities on ``eval_texts`` and its cost metrics."""
    if name not in BASELINES:
        raise ConfigError(
            f"evaluate.baselines: unknown baseline {name!r}; available: "
            f"{', '.join(sorted(BASELINES))}"
        )
    model = BASELINES[name](train_texts, train_labels, seed)
    probabilities = np.zeros((len(eval_texts), num_labels))
    probabilities[:, model.classes_] = model.predict_proba(list(eval_texts))
    latencies = []
    for text in list(eval_texts)[:100]:
        start = time.perf_counter()
        model.predict_proba([text])
        latencies.append((time.perf_counter() - start) * 1000)
    sample = list(eval_texts)[:512]
    start = time.perf_counter()
    model.predict_proba(sample)
    throughput = len(sample) / (time.perf_counter() - start)
    classifier = model[-1]
    cost = {
        "latency_b1_p50_ms": float(np.percentile(latencies, 50)),
        "latency_b1_p95_ms": float(np.percentile(latencies, 95)),
        "throughput": throughput,
        "batch_size": len(sample),
        "parameters": int(classifier.coef_.size + classifier.intercept_.size),
        "size_mb": len(pickle.dumps(model)) / 1e6,
        "peak_rss_mb": None,
        "backend": "scikit-learn",
    }
    return probabilities, cost
