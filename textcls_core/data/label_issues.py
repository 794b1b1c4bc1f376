"""Likely mislabeled rows: cleanlab's confident learning on out-of-fold probabilities.

A label is suspect when a model that never saw the row is confident it belongs to another
class, more so than the class-conditional noise rates cleanlab estimates allow
(``cleanlab.filter.find_label_issues``, Northcutt et al. 2021). The probabilities must be out
of fold, else the model has memorised the very labels it judges: scikit-learn's
``cross_val_predict`` gives them from a fast word/bigram TF-IDF + logistic regression (seconds
on tens of thousands of rows, on any CPU), or any model's out-of-fold probabilities can be
passed to ``label_issues_from_probabilities``.

With ``encoder`` (``data.label_issues_model: encoder``) the probabilities are the mean of that
TF-IDF model's and a second logistic regression's, trained on frozen sentence embeddings of the
teacher's pretrained encoder (``text_embeddings.embed_texts``): the encoder knows what words
mean, which 2,000 rows of TF-IDF cannot learn (AG News out-of-fold accuracy 0.82 -> 0.88), and
the mean is more precise than either model alone (``bench/label_issue_models.py``). Fine-tuning
the teacher once per fold would be the stronger model, at minutes per fold.

Issues are ranked by self-confidence (the out-of-fold probability of the given label), lowest
first: the top of the list is where a person should look first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: At most this many folds; fewer when a class has fewer rows (each fold needs every class).
MAX_FOLDS = 5
METHOD = "cleanlab find_label_issues on 5-fold out-of-fold TF-IDF + logistic regression"
#: Regularisation of the logistic regression on embeddings: C = 1 beat 0.3, 3, 10 and 100 on
#: out-of-fold accuracy on AG News and SST-2 (less regularisation fits the wrong labels).
ENCODER_C = 1.0


#: cleanlab's default rule, and the rule ``auto`` picks with the teacher (see
#: ``label_issues_from_probabilities``; ``data.label_issues_filter`` chooses another).
DEFAULT_FILTER = "prune_by_noise_rate"
TEACHER_FILTER = "low_self_confidence"


def resolved_filter(filter_by: str, *, teacher: bool) -> str:
    """``data.label_issues_filter`` as cleanlab's ``filter_by``: ``auto`` is cleanlab's default,
    or ``low_self_confidence`` with the teacher: as many rows as the confident joint counts off
    its diagonal, the least self-confident first. With the teacher's probabilities it was the one
    rule that kept precision and recall at 0.7 or more on both AG News and SMS Spam with 10%
    flips (0.77 / 0.80 and 0.99 / 0.74, against 0.67 / 0.83 and 0.98 / 0.86 for ``both``;
    bench/label_issue_models.py): a flag list people act on should be mostly right. With
    TF-IDF and the encoder it cost SMS Spam's recall below that (0.82 -> 0.68), so those keep
    cleanlab's default."""
    if filter_by != "auto":
        return filter_by
    return TEACHER_FILTER if teacher else DEFAULT_FILTER


def method(encoder: str | None, *, teacher: bool = False, filter_by: str = "auto") -> str:
    """What the data report says was run: the TF-IDF model, it averaged with the encoder's,
    and (``teacher``) averaged with the teacher fine-tuned per fold; cleanlab's rule when it is
    not its default."""
    rule = resolved_filter(filter_by, teacher=teacher)
    call = "cleanlab find_label_issues" + (f" (filter_by={rule})" if rule != DEFAULT_FILTER else "")
    if teacher:
        others = "TF-IDF + logistic regression" + (
            f" and logistic regression on frozen {encoder} embeddings" if encoder else ""
        )
        return (
            f"{call} on the mean of 5-fold "
            "out-of-fold probabilities of the pipeline's teacher (softmax of the logits of a "
            f"fine-tune on the other folds) and of the mean of {others}"
        )
    if encoder is None:
        return METHOD.replace("cleanlab find_label_issues", call, 1)
    return (
        f"{call} on the mean of 5-fold out-of-fold probabilities of TF-IDF + "
        f"logistic regression and of logistic regression on frozen {encoder} embeddings "
        "(mean-pooled)"
    )


#: (codes, names, folds) -> (N, C) out-of-fold probabilities of another model, e.g. the
#: pipeline's teacher fine-tuned per fold (``teacher_folds.teacher_out_of_fold_probabilities``).
FoldModel = Callable[[np.ndarray, list[str], list[tuple[np.ndarray, np.ndarray]]], np.ndarray]


@dataclass(frozen=True)
class LabelIssue:
    """One likely mislabeled row (``index`` into the texts given)."""

    index: int
    given: str
    suggested: str
    given_probability: float  # out-of-fold probability of the given label (self-confidence)
    suggested_probability: float


def out_of_fold_probabilities(texts: Sequence[str], labels: np.ndarray, seed: int) -> np.ndarray:
    """(N, C) probabilities, each row from a model trained on the other folds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        # one-character words count too (scikit-learn's default pattern drops them)
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
        # saga, not scikit-learn's default lbfgs: on 2,000 rows' sparse uni- and bigrams lbfgs
        # took 18-50x longer (AG News 28 s vs 1.6 s under load) and stopped up to 0.09 away from
        # the optimum in probability, where saga agrees with a tight newton-cg within 0.006
        LogisticRegression(max_iter=2000, C=4.0, random_state=seed, solver="saga"),
    )
    probabilities = cross_val_predict(
        model, list(texts), labels, cv=_folds(labels, seed), method="predict_proba"
    )
    return np.asarray(probabilities, dtype=np.float64)


def _folds(labels: np.ndarray, seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold

    folds = min(MAX_FOLDS, int(np.bincount(labels).min()))
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def folds_of(labels: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, held-out) index pairs every model of the check uses, for these labels."""
    return list(_folds(labels, seed).split(np.zeros(len(labels)), labels))


def embedding_out_of_fold_probabilities(
    embeddings: np.ndarray, labels: np.ndarray, seed: int
) -> np.ndarray:
    """(N, C) out-of-fold probabilities of a logistic regression on sentence ``embeddings``.

    Same folds as :func:`out_of_fold_probabilities` for the same labels and seed.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = LogisticRegression(max_iter=3000, C=ENCODER_C, random_state=seed)
    probabilities = cross_val_predict(
        model, embeddings, labels, cv=_folds(labels, seed), method="predict_proba"
    )
    return np.asarray(probabilities, dtype=np.float64)


def label_issues_from_probabilities(
    labels: np.ndarray,
    probabilities: np.ndarray,
    names: Sequence[str],
    *,
    filter_by: str = "prune_by_noise_rate",
) -> list[LabelIssue]:
    """cleanlab's issues for out-of-fold ``probabilities``, most suspect first.

    ``filter_by``: cleanlab's rule (its default, ``prune_by_noise_rate``; ``both``, which
    also requires the row to be off the confident joint's diagonal: fewer, surer issues;
    ``confident_learning``, the off-diagonal rows alone: fewer still; ``low_self_confidence``
    and ``low_normalized_margin``, as many rows as those, ranked by that score; see cleanlab's
    docs).
    """
    from cleanlab.filter import find_label_issues

    ranked = find_label_issues(
        labels=labels,
        pred_probs=probabilities,
        filter_by=filter_by,
        return_indices_ranked_by="self_confidence",
        # no process pool: its workers would get the CLI's Ctrl-C and print tracebacks, and the
        # per-class pruning is milliseconds at ingest sizes
        n_jobs=1,
    )
    issues = []
    for index in np.asarray(ranked, dtype=np.int64):
        row = probabilities[index]
        others = row.copy()
        others[labels[index]] = -1.0
        suggested = int(others.argmax())
        issues.append(
            LabelIssue(
                index=int(index),
                given=str(names[labels[index]]),
                suggested=str(names[suggested]),
                given_probability=float(row[labels[index]]),
                suggested_probability=float(row[suggested]),
            )
        )
    return issues


def find_label_issues(
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int,
    *,
    encoder: str | None = None,
    encoder_dir: str | None = None,
    trust_remote_code: bool = False,
    teacher: FoldModel | None = None,
    filter_by: str = "auto",
) -> tuple[list[LabelIssue], str | None]:
    """Likely mislabeled rows of one labelled split, and why none were looked for (or None).

    ``filter_by``: ``data.label_issues_filter`` (``resolved_filter``).

    ``encoder``: a pretrained checkpoint name (``data.label_issues_model: encoder``); its
    embeddings' out-of-fold probabilities are averaged with TF-IDF's. ``encoder_dir`` is its
    local folder (default: resolved offline through the ``textcls_resolve_pretrained`` plugins).
    Needs two rows of every class (two folds); with fewer it looks for nothing and says why.
    """
    names = sorted(set(labels))
    codes = np.asarray([names.index(label) for label in labels], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(names))
    if len(names) < 2 or counts.min() < 2:
        rare = names[int(counts.argmin())]
        return [], (
            f"not checked: class {rare!r} has {int(counts.min())} training row(s); "
            "cross-validation needs at least 2 of every class"
        )
    try:
        probabilities = out_of_fold_probabilities(texts, codes, seed)
    except ValueError as exc:  # e.g. no word characters in any text of a fold
        return [], f"not checked: the TF-IDF model could not be fitted ({exc})"
    if encoder is not None:
        from textcls.data.text_embeddings import embed_texts

        if encoder_dir is None:
            from textcls.pretrained import resolve_pretrained

            encoder_dir = resolve_pretrained(encoder)
        embeddings = embed_texts(texts, encoder_dir, trust_remote_code=trust_remote_code)
        probabilities = (
            probabilities + embedding_out_of_fold_probabilities(embeddings, codes, seed)
        ) / 2
    if teacher is not None:
        # the teacher averaged with the others measured better than the teacher alone
        # (bench/label_issue_models.py): their mistakes differ
        probabilities = (teacher(codes, names, folds_of(codes, seed)) + probabilities) / 2
    rule = resolved_filter(filter_by, teacher=teacher is not None)
    return label_issues_from_probabilities(codes, probabilities, names, filter_by=rule), None


def issue_records(
    issues: Sequence[LabelIssue], texts: Sequence[str], where: Sequence[str]
) -> list[dict[str, Any]]:
    """The data report's rows: text, file:line, given and suggested label, confidences."""
    records = []
    for issue in issues:
        fields = asdict(issue)
        del fields["index"]  # a position inside ingest; where names the file and line
        records.append({"text": texts[issue.index], "where": where[issue.index], **fields})
    return records
