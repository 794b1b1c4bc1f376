"""The quantization stage: export to ONNX, quantize, and never ship a broken model silently.

For one ``quantize:`` step and one target (teacher or student): export the model folder to fp32
ONNX (checked against PyTorch), apply the quantizer, then score both on the validation split
(the delivered model's logits are stored for calibrate and evaluate to reuse:
``textcls.validation_logits``). If the quantized model's accuracy is more than
``max_accuracy_drop`` points below fp32, the fp32 ONNX model is delivered instead and
``quantize.json`` says why. Dynamic quantization has collapsed some models to chance in the
wild; this gate is why that cannot reach a user unseen.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textcls.artifact_files import QUANTIZE_REPORT
from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256, write_json_atomic
from textcls.config import QuantizeStep
from textcls.model_folder import META_FILE

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

CALIBRATION_SPLIT = "train"


def quantize(
    step: QuantizeStep,
    model_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    plugins: PluginHost | None = None,
) -> ArtifactRef:
    """Quantize the model in ``model_dir`` as ``step`` says; write the delivered model."""
    import datasets
    from textcls.onnx_export import export_onnx
    from textcls.predictor import Predictor
    from textcls.validation_logits import BATCH_SIZE, write_logits

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    quantizer = plugins.component("quantizer", step.name).create(step.params)
    data = datasets.load_from_disk(str(data_dir))
    validation = data["validation"]
    calibration = list(data[CALIBRATION_SPLIT]["text"])
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        fp32_dir = tmp / ".fp32"
        export_onnx(model_dir, fp32_dir)
        fp32 = Predictor.load(fp32_dir)
        quantizer.apply(fp32_dir, tmp, calibration, fp32.tokenizer)
        for item in fp32_dir.iterdir():
            if item.name != "model.onnx" and item.is_file():
                shutil.copy2(item, tmp / item.name)
        texts, labels = list(validation["text"]), list(validation["label"])
        fp32_logits = fp32.logits(texts, BATCH_SIZE)
        quantized = Predictor.load(tmp)
        quantized_logits = quantized.logits(texts, BATCH_SIZE)
        fp32_accuracy = _accuracy(fp32_logits, labels)
        quantized_accuracy = _accuracy(quantized_logits, labels)
        drop = 100.0 * (fp32_accuracy - quantized_accuracy)
        delivered = quantizer.precision
        reason = None
        if quantizer.precision != "fp32" and drop > step.max_accuracy_drop:
            delivered = "fp32"
            reason = (
                f"{quantizer.precision} accuracy {quantized_accuracy:.4f} is {drop:.2f} points "
                f"below fp32 {fp32_accuracy:.4f} on validation (max_accuracy_drop "
                f"{step.max_accuracy_drop}); delivered the fp32 ONNX model instead"
            )
            shutil.copy2(fp32_dir / "model.onnx", tmp / "model.onnx")
        shutil.rmtree(fp32_dir)
        report = {
            "quantizer": step.model_dump(mode="json"),
            "requested_precision": quantizer.precision,
            "delivered_precision": delivered,
            "validation_accuracy_fp32": fp32_accuracy,
            "validation_accuracy_quantized": quantized_accuracy,
            "accuracy_drop_points": drop,
            "gate": "passed" if reason is None else "failed",
            "reason": reason,
            "size_bytes": (tmp / "model.onnx").stat().st_size,
        }
        write_json_atomic(tmp / QUANTIZE_REPORT, report)
        meta = json.loads((tmp / META_FILE).read_text())
        meta["onnx"] = {**meta.get("onnx", {}), "precision": delivered, "quantization": report}
        write_json_atomic(tmp / META_FILE, meta)
        # the delivered model's validation logits, for calibrate and evaluate to reuse (last:
        # the key hashes the folder's files)
        write_logits(
            tmp,
            texts,
            quantized_logits if delivered == quantizer.precision else fp32_logits,
            batch_size=BATCH_SIZE,
            max_length=quantized.max_length,
        )
    return ArtifactRef(
        stage="quantize", path=str(out_dir.resolve()), sha256=directory_sha256(out_dir)
    )


def _accuracy(logits: Any, labels: list[int]) -> float:
    """Share of rows whose argmax is the label (``predictor.accuracy``, from the logits)."""
    import numpy as np

    return float((np.asarray(logits).argmax(-1) == np.asarray(labels)).mean())
