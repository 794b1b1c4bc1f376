"""The conformance battery for a distiller component.

The loss is computed by the training stage's own ``DistillationTrainer.compute_loss`` (so the
distiller is called exactly as in a pipeline), on a small student and teacher that return every
output a distiller may need (logits, hidden states, attentions), with two teachers' logits.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textcls.contracts import (
    TEACHER_OUTPUTS,
    DistillerCapabilities,
    declared_arguments,
    distiller_needs,
)
from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.testing.toy import LABEL_IDS, MAX_LENGTH, TEXTS, toy_encoder, toy_tokenizer

#: What the training loop offers ``loss`` besides student, teacher and labels (if declared).
OPTIONAL_LOSS_ARGUMENTS = ("attention_mask", "progress")


def check_distiller(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every distiller check on the distiller component ``name``."""
    from textcls.plugin_manager import get_plugins

    plugins = get_plugins()
    component = plugins.component("distiller", name)
    state = SimpleNamespace(params=sample_params(component, params), component=component)
    battery = Battery("distiller", name)
    battery.run("build", lambda: _build(state))
    battery.run("declared-arguments", lambda: _declared(state), needs=["build"])
    battery.run("finite-loss", lambda: _finite_loss(state, Path(workdir)), needs=["build"])
    battery.run("gradients", lambda: _gradients(state), needs=["finite-loss"])
    return battery.results


def _build(state: SimpleNamespace) -> str:
    distiller = state.component.create(state.params)
    if not callable(getattr(distiller, "loss", None)):
        raise CheckFailed(
            f"the factory returned a {type(distiller).__name__} without a loss() method; "
            "a distiller has loss(student, teacher, labels)"
        )
    needs = distiller_needs(distiller)
    if not needs:
        raise CheckFailed(
            "`needs` is empty; name the teacher outputs the loss reads, e.g. frozenset({'logits'})"
        )
    unknown = set(needs) - TEACHER_OUTPUTS
    if unknown:
        raise CheckFailed(
            f"needs names {sorted(unknown)}; teacher outputs are {sorted(TEACHER_OUTPUTS)}"
        )
    state.distiller = distiller
    return f"{type(distiller).__name__}, needs {sorted(needs)}"


def _declared(state: SimpleNamespace) -> str:
    """``loss`` gets student, teacher and labels positionally, and of the optional arguments
    only those it declares (``textcls.contracts.call_declared``)."""
    signature = inspect.signature(state.distiller.loss)
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 3 and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
        raise CheckFailed(
            f"loss{signature} must take three positional arguments: student, teacher, labels"
        )
    rest = positional[3:] + [p for p in parameters if p.kind is p.KEYWORD_ONLY]
    unknown = [
        p.name
        for p in rest
        if p.default is inspect.Parameter.empty and p.name not in OPTIONAL_LOSS_ARGUMENTS
    ]
    if unknown:
        raise CheckFailed(
            f"loss() requires {', '.join(unknown)}, which textcls never passes; besides "
            f"student, teacher and labels it offers {', '.join(OPTIONAL_LOSS_ARGUMENTS)} "
            "(declare only those you use)"
        )
    declared = declared_arguments(state.distiller.loss)
    extras = [a for a in OPTIONAL_LOSS_ARGUMENTS if a in declared or "*" in declared]
    return f"loss{signature}: gets student, teacher, labels" + "".join(f", {a}" for a in extras)


def _finite_loss(state: SimpleNamespace, workdir: Path) -> str:
    import torch
    from textcls.distillation.trainer import INDEX_COLUMN, DistillationTrainer, hidden_sizes
    from transformers import TrainingArguments

    distiller = state.distiller
    tokenizer = toy_tokenizer()
    student = toy_encoder(tokenizer, hidden_size=16, heads=2, seed=0)
    teacher = toy_encoder(tokenizer, hidden_size=24, heads=4, seed=1)
    encoded = tokenizer(
        list(TEXTS), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
    )
    batch = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    with torch.no_grad():
        first = teacher(**batch).logits
    # Two teachers (multi-teacher strategies read all_logits); the pipeline's teacher first.
    teacher_logits = torch.stack([first, first.flip(-1)], dim=1)
    capabilities = state.component.capabilities_as(DistillerCapabilities)
    in_loop = capabilities.aligned_tokens or bool(distiller_needs(distiller) - {"logits"})
    extra = None
    if in_loop and hasattr(distiller, "modules"):
        extra = distiller.modules(
            hidden_sizes(student, tokenizer), hidden_sizes(teacher, tokenizer)
        )
    args = TrainingArguments(
        output_dir=str(workdir / "distill"),
        report_to="none",
        use_cpu=True,
        max_steps=1,
        remove_unused_columns=False,
    )
    trainer = DistillationTrainer(
        model=student,
        args=args,
        distiller=distiller,
        teacher_logits=teacher_logits,
        teacher_model=teacher if in_loop else None,
        extra_modules=extra,
    )
    student.train()
    inputs = {
        **batch,
        "labels": torch.tensor(LABEL_IDS),
        INDEX_COLUMN: torch.arange(len(TEXTS)),
    }
    loss = trainer.compute_loss(student, inputs)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise CheckFailed(f"loss() must return a scalar tensor; got {loss!r:.80}")
    if not torch.isfinite(loss):
        raise CheckFailed(f"loss is {loss.item()} on a small batch")
    state.loss, state.student, state.extra = loss, student, extra
    return f"loss {loss.item():.4f}" + (" (teacher run in the loop)" if in_loop else "")


def _gradients(state: SimpleNamespace) -> str:
    import torch

    if not state.loss.requires_grad:
        raise CheckFailed(
            "the loss does not depend on the student's outputs (detached, or computed from "
            "the teacher alone): no gradient can reach the student"
        )
    state.loss.backward()
    grads = [p.grad for p in state.student.parameters() if p.requires_grad]
    reached = [g for g in grads if g is not None and bool(g.abs().sum() > 0)]
    if any(g is not None and not torch.isfinite(g).all() for g in grads):
        raise CheckFailed("NaN or infinite gradients in the student")
    if not reached:
        raise CheckFailed(
            "no gradient reaches the student: the loss must be computed from student outputs "
            "without detaching them"
        )
    detail = f"gradients reach {len(reached)} of {len(grads)} student parameter tensors"
    if state.extra is not None:
        extra = [p.grad for p in state.extra.parameters()]
        if not any(g is not None for g in extra):
            raise CheckFailed("no gradient reaches the parameters returned by modules()")
        detail += f" and {len(extra)} of the distiller's own"
    return detail
