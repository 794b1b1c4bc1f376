"""GloVe's parts, checked against hand-computed values: counts, weighting, loss, the fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from textcls.training.glove import GloVe, cooccurrence, weighting


def as_dict(rows, cols, counts):
    return {(int(r), int(c)): float(x) for r, c, x in zip(rows, cols, counts, strict=True)}


def test_counts_weight_by_distance_stay_inside_a_text_and_skip_specials():
    # text 1: 5 6 7, text 2: 7 0 5 (0 is a special token: dropped, so 7 and 5 become adjacent)
    found = as_dict(*cooccurrence([[5, 6, 7], [7, 0, 5], []], 2, {0}, 10))
    assert found == {
        (5, 6): 1.0,
        (6, 5): 1.0,
        (6, 7): 1.0,
        (7, 6): 1.0,
        (5, 7): 0.5 + 1.0,  # distance 2 in text 1, adjacent in text 2
        (7, 5): 0.5 + 1.0,
    }
    repeated = as_dict(*cooccurrence([[1, 2], [1, 2]], 3, set(), 4))
    assert repeated == {(1, 2): 2.0, (2, 1): 2.0}
    rows, _, _ = cooccurrence([[3]], 5, set(), 4)
    assert len(rows) == 0


def test_weighting_is_capped_at_x_max():
    values = weighting(torch.tensor([1.0, 50.0, 100.0, 400.0]))
    expected = torch.tensor([0.01**0.75, 0.5**0.75, 1.0, 1.0])
    assert torch.allclose(values, expected)


def test_loss_is_the_weighted_squared_error_of_the_log_count():
    model = GloVe(3, 2)
    with torch.no_grad():
        model.word_vectors.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
        model.context_vectors.weight.copy_(torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]))
        model.word_bias.weight.copy_(torch.tensor([[0.1], [0.2], [0.3]]))
        model.context_bias.weight.copy_(torch.tensor([[0.0], [-0.1], [0.4]]))
    row, col, count = torch.tensor([0, 1]), torch.tensor([2, 0]), torch.tensor([10.0, 200.0])
    # entry (0, 2): w.w~ = 0, biases 0.1 + 0.4; entry (1, 0): w.w~ = 1, biases 0.2 + 0
    errors = np.array([0.5 - np.log(10.0), 1.2 - np.log(200.0)])
    weights = np.array([0.1**0.75, 1.0])
    expected = float(np.mean(weights * errors**2))
    assert model(row, col, count)["loss"].item() == pytest.approx(expected, rel=1e-5)
    vectors = model.vectors()
    assert torch.equal(vectors[0], torch.tensor([1.5, 0.5]))


def test_adagrad_fits_the_log_counts():
    rng = np.random.default_rng(0)
    texts = [list(rng.integers(1, 30, size=12)) for _ in range(200)]
    rows, cols, counts = cooccurrence(texts, 4, set(), 30)
    model = GloVe(30, 8)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
    batch = (torch.from_numpy(rows), torch.from_numpy(cols), torch.from_numpy(counts))
    first = model(*batch)["loss"].item()
    for _ in range(300):
        optimizer.zero_grad()
        loss = model(*batch)["loss"]
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * first
