"""The losses behind the built-in distillers (imports torch; loaded on first use)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def soft_kl(student_logits: torch.Tensor, teacher_probs: torch.Tensor, t: float) -> torch.Tensor:
    """``T^2 * KL(teacher || softmax(student / T))``, batch mean; T^2 keeps gradient scale."""
    log_student = F.log_softmax(student_logits / t, dim=-1)
    return F.kl_div(log_student, teacher_probs, reduction="batchmean") * t * t


def hard_ce(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(student_logits, labels)


class LogitsKl:
    """Hinton, Vinyals & Dean (2015), *Distilling the Knowledge in a Neural Network*.

    ``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``; the temperature
    may anneal linearly from ``temperature`` to ``final_temperature`` over training.
    """

    needs = frozenset({"logits"})

    def __init__(self, params: Any) -> None:
        self.alpha = params.alpha
        self.start = params.temperature
        self.end = params.final_temperature or params.temperature

    def temperature(self, progress: float) -> float:
        return self.start + (self.end - self.start) * min(max(progress, 0.0), 1.0)

    def loss(
        self, student: Any, teacher: Any, labels: torch.Tensor, progress: float = 0.0
    ) -> torch.Tensor:
        t = self.temperature(progress)
        probs = F.softmax(teacher.logits / t, dim=-1)
        return self.alpha * soft_kl(student.logits, probs, t) + (1 - self.alpha) * hard_ce(
            student.logits, labels
        )


class LogitsMse:
    """Tang et al. (2019), *Distilling Task-Specific Knowledge from BERT into Simple Neural
    Networks*: mean squared error between logits, for BiLSTM students.

    ``alpha * MSE(s, t) + (1 - alpha) * CE(s, y)``.
    """

    needs = frozenset({"logits"})

    def __init__(self, params: Any) -> None:
        self.alpha = params.alpha

    def loss(self, student: Any, teacher: Any, labels: torch.Tensor) -> torch.Tensor:
        mse = F.mse_loss(student.logits, teacher.logits)
        return self.alpha * mse + (1 - self.alpha) * hard_ce(student.logits, labels)


def _pairs(layer_map: Any, student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    pairs = [tuple(p) for p in layer_map] if layer_map else [(-1, -1)]
    for s, t in pairs:
        if not (-student_layers <= s < student_layers and -teacher_layers <= t < teacher_layers):
            raise ValueError(
                f"layer_map pair ({s}, {t}) is out of range: the student has {student_layers} "
                f"and the teacher {teacher_layers} layers of outputs"
            )
    return pairs  # type: ignore[return-value]


class HiddenMse:
    """Hidden-state matching: Sun et al. (2019) *Patient Knowledge Distillation* and Jiao et al.
    (2020) *TinyBERT*. Student states pass through learned linear projections to the teacher's
    width; the projections train with the student and are not saved with it.

    ``beta * mean_pairs MSE(W h_s, h_t) + alpha * T^2 KL + (1 - alpha) * CE``.
    """

    needs = frozenset({"logits", "hidden_states"})

    def __init__(self, params: Any) -> None:
        self.params = params
        self.projections: torch.nn.ModuleList | None = None
        self.pairs: list[tuple[int, int]] = []

    def modules(self, student_sizes: list[int], teacher_sizes: list[int]) -> torch.nn.Module:
        """Build one projection per layer pair, from the hidden sizes of each side."""
        self.pairs = _pairs(self.params.layer_map, len(student_sizes), len(teacher_sizes))
        self.projections = torch.nn.ModuleList(
            torch.nn.Linear(student_sizes[s], teacher_sizes[t]) for s, t in self.pairs
        )
        return self.projections

    def loss(
        self, student: Any, teacher: Any, labels: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        if self.projections is None:
            raise RuntimeError("HiddenMse.modules() must be called before training")
        mask = attention_mask.unsqueeze(-1).to(student.logits.dtype)
        total = student.logits.new_zeros(())
        for (s, t), projection in zip(self.pairs, self.projections, strict=True):
            hs, ht = student.hidden_states[s], teacher.hidden_states[t]
            if hs.dim() == 2:  # pooled states: no time axis
                total = total + F.mse_loss(projection(hs), ht)
                continue
            diff = (projection(hs) - ht) ** 2 * mask
            total = total + diff.sum() / (mask.sum() * ht.shape[-1]).clamp(min=1.0)
        p = self.params
        probs = F.softmax(teacher.logits / p.temperature, dim=-1)
        kd = soft_kl(student.logits, probs, p.temperature)
        return (
            p.beta * total / len(self.pairs)
            + p.alpha * kd
            + (1 - p.alpha) * hard_ce(student.logits, labels)
        )


class AttentionKl:
    """Attention transfer as in Wang et al. (2020), *MiniLM*: KL between the teacher's and the
    student's self-attention distributions (averaged over heads when head counts differ).

    ``beta * mean_pairs KL(A_t || A_s) + alpha * T^2 KL + (1 - alpha) * CE``.
    """

    needs = frozenset({"logits", "attentions"})

    def __init__(self, params: Any) -> None:
        self.params = params

    def loss(
        self, student: Any, teacher: Any, labels: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        if not student.attentions:
            raise ValueError("attention-kl needs a student that returns attentions (transformer)")
        pairs = _pairs(self.params.layer_map, len(student.attentions), len(teacher.attentions))
        mask = attention_mask.to(student.logits.dtype)  # (B, T)
        total = student.logits.new_zeros(())
        for s, t in pairs:
            a_s, a_t = student.attentions[s], teacher.attentions[t]  # (B, H, T, T)
            if a_s.shape[1] != a_t.shape[1]:
                a_s, a_t = a_s.mean(1, keepdim=True), a_t.mean(1, keepdim=True)
            kl = a_t * (torch.log(a_t.clamp(min=1e-12)) - torch.log(a_s.clamp(min=1e-12)))
            per_query = kl.sum(-1)  # (B, H, T)
            weights = mask.unsqueeze(1)
            total = total + (per_query * weights).sum() / (weights.sum() * a_s.shape[1])
        p = self.params
        probs = F.softmax(teacher.logits / p.temperature, dim=-1)
        kd = soft_kl(student.logits, probs, p.temperature)
        return (
            p.beta * total / len(pairs)
            + p.alpha * kd
            + (1 - p.alpha) * hard_ce(student.logits, labels)
        )


class MultiTeacher:
    """Soft labels averaged (or weighted) over several teachers (e.g. Fukuda et al. 2017, You et
    al. 2017), then ``alpha * T^2 KL + (1 - alpha) * CE``."""

    needs = frozenset({"logits"})

    def __init__(self, params: Any) -> None:
        self.params = params

    def loss(self, student: Any, teacher: Any, labels: torch.Tensor) -> torch.Tensor:
        p = self.params
        probs = F.softmax(teacher.all_logits / p.temperature, dim=-1)  # (B, T, C)
        count = probs.shape[1]
        if p.combine == "weighted" and p.weights is not None:
            w = torch.tensor(p.weights[:count], dtype=probs.dtype, device=probs.device)
        else:
            w = torch.ones(count, dtype=probs.dtype, device=probs.device)
        mixed = (probs * (w / w.sum()).view(1, -1, 1)).sum(1)
        kd = soft_kl(student.logits, mixed, p.temperature)
        return p.alpha * kd + (1 - p.alpha) * hard_ce(student.logits, labels)
