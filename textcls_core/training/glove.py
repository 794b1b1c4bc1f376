"""GloVe word vectors (Pennington et al. 2014), for initialising word-level students.

1. Co-occurrence counts ``X_ij``: for every pair of words at most ``window`` apart in the same
   text, ``1 / distance`` is added to both ``X_ij`` and ``X_ji`` (the paper's distance
   weighting, symmetric context).
2. A weighted least-squares fit of ``w_i . w~_j + b_i + b~_j`` to ``log X_ij`` over the
   non-zero entries, each weighted by ``f(X_ij) = min(1, (X_ij / x_max) ** 0.75)`` with
   ``x_max = 100``, trained with AdaGrad (the paper's optimiser; ``learning_rate`` 0.05 there).
3. The vectors kept are ``W + W~`` (the paper's final step).

Why our own ~60 lines and not a package: the GloVe packages on PyPI have had no release since
2020 (``glove`` 2017, ``glove-python`` 2016, ``glove-python-binary`` 2020, ``mittens`` 2019),
and none trains through Trainer, which gives this stage its checkpoints, resume and devices as
every other objective. The model is a few embedding tables and one loss; the co-occurrence
counting is NumPy and SciPy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

#: Context window (words each side), as in the paper's experiments.
WINDOW = 10
#: Counts at or above ``X_MAX`` get weight 1; below, ``(x / X_MAX) ** ALPHA``.
X_MAX = 100.0
ALPHA = 0.75


def cooccurrence(
    sequences: Iterable[list[int]], window: int, skip_ids: set[int], vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero entries ``(rows, cols, counts)`` of the distance-weighted matrix ``X``."""
    from scipy.sparse import coo_matrix

    nonempty = [s for s in sequences if s]
    if not nonempty:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in nonempty])
    text = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(nonempty)])
    keep = ~np.isin(flat, list(skip_ids))
    flat, text = flat[keep], text[keep]
    rows, cols, weights = [], [], []
    for distance in range(1, window + 1):
        same = text[:-distance] == text[distance:]
        left, right = flat[:-distance][same], flat[distance:][same]
        weight = np.full(len(left), 1.0 / distance, dtype=np.float64)
        rows += [left, right]
        cols += [right, left]
        weights += [weight, weight]
    shape = (vocab_size, vocab_size)
    matrix = coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()  # duplicate (i, j) entries add up
    matrix.sum_duplicates()
    found = matrix.tocoo()
    return found.row.astype(np.int64), found.col.astype(np.int64), found.data.astype(np.float32)


def weighting(counts: torch.Tensor, x_max: float = X_MAX, alpha: float = ALPHA) -> torch.Tensor:
    """``f(x) = (x / x_max) ** alpha`` below ``x_max``, 1 from there on."""
    return torch.clamp(counts / x_max, max=1.0) ** alpha


class GloVe(torch.nn.Module):
    """Word and context vectors with biases; the loss is GloVe's weighted least squares."""

    def __init__(self, vocab_size: int, dim: int, x_max: float = X_MAX) -> None:
        super().__init__()
        self.word_vectors = torch.nn.Embedding(vocab_size, dim)
        self.context_vectors = torch.nn.Embedding(vocab_size, dim)
        self.word_bias = torch.nn.Embedding(vocab_size, 1)
        self.context_bias = torch.nn.Embedding(vocab_size, 1)
        for table in (self.word_vectors, self.context_vectors):
            torch.nn.init.uniform_(table.weight, -0.5 / dim, 0.5 / dim)  # the reference code's
        torch.nn.init.zeros_(self.word_bias.weight)
        torch.nn.init.zeros_(self.context_bias.weight)
        self.x_max = x_max

    def forward(
        self, row: torch.Tensor, col: torch.Tensor, count: torch.Tensor, **_: Any
    ) -> dict[str, torch.Tensor]:
        prediction = (
            (self.word_vectors(row) * self.context_vectors(col)).sum(-1)
            + self.word_bias(row).squeeze(-1)
            + self.context_bias(col).squeeze(-1)
        )
        count = count.float()
        error = prediction - torch.log(count)
        # The paper sums over entries; AdaGrad's per-parameter scaling makes the mean's
        # smaller gradients take the same steps, and the mean keeps the logged loss
        # comparable across batch sizes.
        return {"loss": (weighting(count, self.x_max) * error.pow(2)).mean()}

    def vectors(self) -> torch.Tensor:
        """``W + W~``: the sum of word and context vectors, as the paper keeps."""
        return (self.word_vectors.weight + self.context_vectors.weight).detach().clone()
