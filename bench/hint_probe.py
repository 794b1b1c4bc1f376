"""A probe, not a shipped distiller: does a hint toward the teacher's features lift the student?

Issue #20's SST-2 student keeps 95.8% of the teacher on test (three seeds) and the one lever the
student defaults study had not tried was matching the teacher's internal representations
(FitNets' hints, Romero et al. 2015; TinyBERT and MiniLM for Transformer students). textcls's
``hidden-mse`` distiller compares token states, so it needs the teacher's tokenizer; the default
BiLSTM reads words. This probe adds, to the default student's ``logits-kl`` loss, ``beta`` times
the mean squared error between a learned projection of the student's max-pooled BiLSTM states
and one vector per transfer text from the teacher: the input of its classifier (``pooler``, the
penultimate features) or its last hidden states averaged over the tokens (``mean``), computed
once per text before training and kept in ``HINT_CACHE``.

It runs ``bench/student_defaults.py`` with its arguments, with the distillation stage's trainer
factory (``textcls.distillation.setup.distillation_trainer``) wrapped so that the job's trainer
also computes the hint; ``HINT_BETA=0`` leaves the default untouched. It is a probe because the
answer was no (BENCHMARKS.md "Issue #20's targets"). ``HINT_BETA=0`` in the same ``--work``
folder is the control: the default student from the same teacher and transfer set.

    HINT_BETA=1 HINT_TARGET=pooler python bench/hint_probe.py --work /tmp/study --no-write \\
        --datasets sst2 --configs default,seed2,seed3
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

BETA = float(os.environ.get("HINT_BETA", "0"))
TARGET = os.environ.get("HINT_TARGET", "pooler")
CACHE = Path(os.environ.get("HINT_CACHE", Path(tempfile.gettempdir()) / "textcls-hint-features"))


def teacher_features(teacher_dir: str, texts: list[str], max_length: int) -> torch.Tensor:
    """One vector per text from the teacher (``TARGET``), cached by teacher, texts and target."""
    from textcls.artifacts import file_sha256
    from textcls.length_batches import length_sorted_batches
    from textcls.model_folder import load_model_folder

    weights = file_sha256(Path(teacher_dir) / "model.safetensors")  # a retrained teacher: new
    key = "\x1e".join([weights, TARGET, str(max_length), *texts])
    path = CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.pt"
    if path.is_file():
        cached: torch.Tensor = torch.load(path)
        return cached
    loaded = load_model_folder(teacher_dir)
    model = loaded.model.eval()
    captured: dict[str, torch.Tensor] = {}
    hook = model.classifier.register_forward_hook(
        lambda module, args, output: captured.__setitem__("features", args[0])
    )
    features = torch.zeros(len(texts), model.config.hidden_size)
    with torch.inference_mode():
        for rows in length_sorted_batches(texts, 64):
            encoded = loaded.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out = model(**encoded, output_hidden_states=TARGET == "mean")
            if TARGET == "mean":
                mask = encoded["attention_mask"].unsqueeze(-1).float()
                features[rows] = (out.hidden_states[-1] * mask).sum(1) / mask.sum(1)
            else:
                features[rows] = captured["features"]
    hook.remove()
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(features, path)
    return features


def hint_trainer_class(base: type) -> type:
    """``base`` (the DistillationTrainer) with the hint added to its loss on transfer batches."""
    from textcls.distillation.trainer import INDEX_COLUMN
    from textcls.modeling import masked_max

    class HintTrainer(base):  # type: ignore[misc, valid-type]
        teacher_features: torch.Tensor
        hint_projection: torch.nn.Linear

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            if INDEX_COLUMN not in inputs:  # validation: cross-entropy, as the default
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            index = inputs.pop(INDEX_COLUMN).long().cpu()
            labels = inputs.pop("labels")
            outputs = model(**inputs, output_hidden_states=True)
            teacher = SimpleNamespace(logits=self.teacher_logits[index][:, 0])
            progress = self.state.global_step / max(1, self.state.max_steps)
            # the default's own loss (logits-kl), then the hint
            default = self.distiller.loss(outputs, teacher, labels, progress=progress)
            pooled = masked_max(outputs.hidden_states[-1], inputs["attention_mask"])
            hint = F.mse_loss(self.hint_projection(pooled), self.teacher_features[index])
            loss = default + BETA * hint
            return (loss, outputs) if return_outputs else loss

    return HintTrainer


def install() -> None:
    """Wrap the distillation stage's trainer factory (this process only)."""
    import datasets
    import textcls.distillation.setup as setup
    from textcls.model_folder import read_meta

    original = setup.distillation_trainer

    def with_hint(spec: dict[str, Any], common: dict[str, Any], student: Any) -> Any:
        trainer = original(spec, common, student)
        if BETA == 0:
            return trainer
        distiller = spec["distiller"]
        if (
            distiller["name"] != "logits-kl"
            or distiller["params"].get("final_temperature") is not None
            or student.model.config.pooling != "max"
        ):
            raise SystemExit(
                "hint_probe: the default student only (logits-kl at a fixed temperature, max "
                "pooling)"
            )
        transfer = Path(spec["logits_file"]).parent / "transfer"  # rows = teacher_index
        texts = list(datasets.load_from_disk(str(transfer))["text"])
        teacher = spec["teachers"][0]
        max_length = int(read_meta(teacher).get("train", {}).get("max_length", 128))
        features = teacher_features(teacher, texts, max_length)
        width = student.model.config.hidden_size * 2  # bidirectional, max-pooled
        trainer.__class__ = hint_trainer_class(type(trainer))
        trainer.teacher_features = features
        # drawn from a forked generator: the student's own random stream (dropout masks, data
        # order) stays the default run's, so only the loss differs from HINT_BETA=0
        with torch.random.fork_rng():
            torch.manual_seed(0)
            trainer.hint_projection = torch.nn.Linear(width, features.shape[1])
        trainer.extra_modules = trainer.hint_projection  # trains with the student, not saved
        print(f"[hint] beta={BETA} target={TARGET} features {tuple(features.shape)}", flush=True)
        return trainer

    setup.distillation_trainer = with_hint


if __name__ == "__main__":
    install()
    import student_defaults

    student_defaults.main()
