"""Export a model folder to ONNX, and prove the export computes what PyTorch computes.

Architectures Optimum knows (BERT and friends: the ``hf`` teacher, the ``transformer`` student)
export through Optimum. textcls's own architectures export with ``torch.onnx`` (dynamic batch
and sequence axes). Either way the result must match PyTorch's logits to within
``tolerance`` (1e-4 by default) on sample texts of several lengths, or the export fails and says
by how much.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from textcls.errors import StageError
from textcls.model_folder import META_FILE, load_model_folder

SAMPLE_TEXTS = (
    "a",
    "short text",
    "a somewhat longer sentence with several words in it",
    "and one much longer text, which goes on and on with commas, numbers like 42, and more "
    "words so that padding and truncation both come into play during the check",
)
TOLERANCE = 1e-4


def optimum_supports(model_type: str) -> bool:
    """Whether Optimum's ONNX exporter knows this architecture.

    Optimum registers its ONNX export configs when ``optimum.exporters.onnx.model_configs`` is
    imported; without that import the answer would depend on what the process imported before.
    """
    try:
        import optimum.exporters.onnx.model_configs  # noqa: F401  (registers the configs)
        from optimum.exporters.tasks import TasksManager

        TasksManager.get_supported_tasks_for_model_type(model_type, "onnx")
        return True
    except (KeyError, ValueError):
        return False


def _torch_export(model: Any, tokenizer: Any, path: Path, input_names: Sequence[str]) -> None:
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    sample = tokenizer(list(SAMPLE_TEXTS[:2]), padding=True, return_tensors="pt")
    axes = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
        "logits": {0: "batch"},
    }
    torch.onnx.export(
        LogitsOnly(model.eval()),
        (sample["input_ids"], sample["attention_mask"]),
        str(path),
        input_names=list(input_names),
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )


def export_onnx(model_folder: str | Path, out_dir: str | Path) -> Path:
    """Write ``model.onnx``, config, tokenizer and textcls.json into ``out_dir``."""
    model_folder, out_dir = Path(model_folder), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_model_folder(model_folder)
    model_type = loaded.model.config.model_type
    if optimum_supports(model_type):
        from optimum.onnxruntime import ORTModelForSequenceClassification

        exported = ORTModelForSequenceClassification.from_pretrained(
            str(model_folder), export=True, trust_remote_code=False
        )
        exported.save_pretrained(str(out_dir))
    else:
        _torch_export(
            loaded.model, loaded.tokenizer, out_dir / "model.onnx", ["input_ids", "attention_mask"]
        )
        loaded.model.config.save_pretrained(str(out_dir))
    loaded.tokenizer.save_pretrained(str(out_dir))
    shutil.copy2(model_folder / META_FILE, out_dir / META_FILE)
    max_diff = compare_with_pytorch(model_folder, out_dir)
    if max_diff > TOLERANCE:
        raise StageError(
            f"ONNX export of {model_folder} differs from PyTorch by {max_diff:.2e} in the logits "
            f"(limit {TOLERANCE:.0e}); the exporter does not support something in this model"
        )
    meta = json.loads((out_dir / META_FILE).read_text())
    meta["onnx"] = {
        "exporter": "optimum" if optimum_supports(model_type) else "torch.onnx",
        "max_abs_diff_vs_pytorch": max_diff,
        "precision": "fp32",
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out_dir / "model.onnx"


def compare_with_pytorch(model_folder: str | Path, onnx_folder: str | Path) -> float:
    """Largest absolute logit difference between the PyTorch and the ONNX model."""
    from textcls.predictor import Predictor

    torch_side = Predictor.load(model_folder)
    onnx_side = Predictor.load(onnx_folder)
    texts = list(SAMPLE_TEXTS)
    diff = np.abs(torch_side.logits(texts, batch_size=2) - onnx_side.logits(texts, batch_size=2))
    return float(diff.max())
