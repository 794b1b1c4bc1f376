"""Each distiller's loss against a value computed by hand; gradients reach only the student."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from textcls import get_plugins


def make(name: str, **params):
    return get_plugins().component("distiller", name).create(params)


def out(logits, **extra):
    return SimpleNamespace(logits=torch.tensor(logits, dtype=torch.float32), **extra)


def softmax(values, t=1.0):
    exps = [math.exp(v / t) for v in values]
    return [e / sum(exps) for e in exps]


def kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))


S, T, Y = [1.0, 0.0, -1.0], [2.0, 1.0, 0.0], 0


def test_logits_kl_matches_hand_computation():
    t, alpha = 2.0, 0.7
    loss = make("logits-kl", temperature=t, alpha=alpha).loss(
        out([S]), out([T]), torch.tensor([Y]), progress=0.0
    )
    expected = alpha * t * t * kl(softmax(T, t), softmax(S, t)) + (1 - alpha) * -math.log(
        softmax(S)[Y]
    )
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_logits_kl_temperature_anneals():
    distiller = make("logits-kl", temperature=4.0, final_temperature=1.0)
    assert distiller.temperature(0.0) == 4.0
    assert distiller.temperature(0.5) == 2.5
    assert distiller.temperature(1.0) == 1.0


def test_logits_mse_matches_hand_computation():
    loss = make("logits-mse", alpha=0.6).loss(out([S]), out([T]), torch.tensor([Y]))
    mse = sum((s - t) ** 2 for s, t in zip(S, T, strict=True)) / 3
    assert loss.item() == pytest.approx(0.6 * mse + 0.4 * -math.log(softmax(S)[Y]), rel=1e-5)


def test_multi_teacher_weighted_soft_labels():
    t = 1.0
    distiller = make(
        "multi-teacher",
        temperature=t,
        alpha=1.0,
        combine="weighted",
        weights=[3.0, 1.0],
        teachers=["other"],
    )
    t2 = [0.0, 0.0, 3.0]
    teacher = SimpleNamespace(all_logits=torch.tensor([[T, t2]]))
    loss = distiller.loss(out([S]), teacher, torch.tensor([Y]))
    mixed = [0.75 * a + 0.25 * b for a, b in zip(softmax(T), softmax(t2), strict=True)]
    assert loss.item() == pytest.approx(kl(mixed, softmax(S)), rel=1e-5)


def test_multi_teacher_weights_must_match_teachers():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="one weight per teacher"):
        make("multi-teacher", combine="weighted", weights=[1.0], teachers=["a"])


def test_hidden_mse_matches_hand_computation_and_trains_projections():
    distiller = make("hidden-mse", alpha=0.0, beta=1.0, layer_map=[(1, 2)])
    projections = distiller.modules([2, 2], [3, 3, 3])
    projection = projections[0]
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        projection.bias.zero_()
    hs = torch.tensor([[[1.0, 2.0], [5.0, 5.0]]], requires_grad=True)  # (B=1, T=2, 2)
    ht = torch.tensor([[[1.0, 1.0, 1.0], [9.0, 9.0, 9.0]]])
    student = out([S], hidden_states=(torch.zeros(1, 2, 2), hs))
    teacher = out([T], hidden_states=(None, None, ht))
    mask = torch.tensor([[1, 0]])  # the second position is padding
    loss = distiller.loss(student, teacher, torch.tensor([Y]), attention_mask=mask)
    # projected first position: (1, 2, 3) vs (1, 1, 1): squared errors 0, 1, 4 over 3 dims
    expected = (0 + 1 + 4) / 3 + 1.0 * -math.log(softmax(S)[Y])
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert projection.weight.grad is not None and hs.grad is not None


def test_attention_kl_matches_hand_computation():
    distiller = make("attention-kl", alpha=1.0, beta=1.0, temperature=1.0)
    a_s = torch.tensor([[[[0.5, 0.5], [0.9, 0.1]]]])  # (B=1, H=1, T=2, T=2)
    a_t = torch.tensor([[[[0.8, 0.2], [0.6, 0.4]]]])
    student = out([S], attentions=(a_s,))
    teacher = out([T], attentions=(a_t,))
    loss = distiller.loss(student, teacher, torch.tensor([Y]), attention_mask=torch.ones(1, 2))
    attention = (kl([0.8, 0.2], [0.5, 0.5]) + kl([0.6, 0.4], [0.9, 0.1])) / 2
    assert loss.item() == pytest.approx(attention + kl(softmax(T), softmax(S)), rel=1e-5)


def test_layer_map_out_of_range_is_explained():
    distiller = make("hidden-mse", layer_map=[(5, 0)])
    with pytest.raises(ValueError, match=r"layer_map pair \(5, 0\) is out of range"):
        distiller.modules([2, 2], [3, 3])


def test_gradients_reach_only_the_student_and_projections():
    from textcls.distillation.trainer import DistillationTrainer
    from transformers import BertConfig, BertForSequenceClassification

    def tiny(seed):
        torch.manual_seed(seed)
        return BertForSequenceClassification(
            BertConfig(
                vocab_size=20,
                hidden_size=8,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=16,
                num_labels=3,
            )
        )

    student, teacher = tiny(0), tiny(1)
    distiller = make("hidden-mse", layer_map=[(1, 2)])
    projections = distiller.modules([8, 8, 8], [8, 8, 8])
    trainer = DistillationTrainer(
        model=student,
        distiller=distiller,
        teacher_logits=torch.randn(4, 3),
        teacher_model=teacher,
        extra_modules=projections,
    )
    inputs = {
        "input_ids": torch.tensor([[1, 2, 3], [4, 5, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
        "labels": torch.tensor([0, 2]),
        "teacher_index": torch.tensor([1, 3]),
    }
    loss = trainer.compute_loss(student, inputs)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is not None for p in projections.parameters())
    optimizer = trainer.create_optimizer()
    grouped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in projections.parameters()} <= grouped
    assert not {id(p) for p in teacher.parameters()} & grouped
