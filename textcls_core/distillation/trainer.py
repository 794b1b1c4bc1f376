"""``DistillationTrainer``: the training stage's Trainer with a loss that asks the distiller.

Everything else (optimizer, schedule, checkpoints, resume, progress bars, evaluation) is
Trainer's own. Training batches carry ``teacher_index``, a row into the cached teacher logits;
evaluation batches (validation, true labels) do not, and use plain cross-entropy.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from textcls.contracts import call_declared, distiller_needs
from textcls.training.trainer import TextclsTrainer

INDEX_COLUMN = "teacher_index"


class DistillationTrainer(TextclsTrainer):
    def __init__(
        self,
        *args: Any,
        distiller: Any,
        teacher_logits: torch.Tensor,
        teacher_model: Any = None,
        extra_modules: torch.nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.distiller = distiller
        self.teacher_logits = (
            teacher_logits if teacher_logits.dim() == 3 else (teacher_logits.unsqueeze(1))
        )
        self.teacher_model = teacher_model
        self.extra_modules = extra_modules
        if teacher_model is not None:
            teacher_model.eval()
            for parameter in teacher_model.parameters():
                parameter.requires_grad_(False)

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | None = None,
    ) -> Any:
        if INDEX_COLUMN not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        index = inputs.pop(INDEX_COLUMN).long().cpu()
        labels = inputs.pop("labels")
        needs = distiller_needs(self.distiller)
        wants = {
            "output_hidden_states": "hidden_states" in needs,
            "output_attentions": "attentions" in needs,
        }
        outputs = model(**inputs, **wants)
        all_logits = self.teacher_logits[index].to(outputs.logits.device)
        teacher = SimpleNamespace(
            logits=all_logits[:, 0], all_logits=all_logits, hidden_states=None, attentions=None
        )
        if self.teacher_model is not None:
            with torch.no_grad():
                teacher_out = self.teacher_model(**inputs, **wants)
            teacher.hidden_states = teacher_out.hidden_states
            teacher.attentions = teacher_out.attentions
        mask = inputs.get("attention_mask")
        if mask is None:
            mask = torch.ones_like(inputs["input_ids"])
        progress = self.state.global_step / max(1, self.state.max_steps)
        # The distiller gets only the arguments its loss declares (the contract's minimum is
        # student, teacher, labels).
        loss = call_declared(
            self.distiller.loss, outputs, teacher, labels, attention_mask=mask, progress=progress
        )
        return (loss, outputs) if return_outputs else loss

    def create_optimizer(self) -> Any:
        optimizer = super().create_optimizer()
        if self.extra_modules is not None:
            # Projections learn with the student (no weight decay) and are never saved with it.
            optimizer.add_param_group(
                {"params": list(self.extra_modules.parameters()), "weight_decay": 0.0}
            )
        return optimizer


def hidden_sizes(model: Any, tokenizer: Any) -> list[int]:
    """The width of each hidden state a model returns (embeddings first)."""
    encoded = tokenizer(["a b c"], return_tensors="pt")
    with torch.no_grad():
        states = model(**encoded, output_hidden_states=True).hidden_states
    return [int(s.shape[-1]) for s in states]
