"""The quantizers behind ``textcls.plugins.quantizers`` (load onnxruntime and Optimum lazily)."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Any

MODEL_FILE = "model.onnx"


def detect_isa() -> str:
    """The best quantization target this CPU supports: avx512_vnni, avx512, avx2 or arm64."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = set(open("/proc/cpuinfo").read().split())
    except OSError:
        return "avx2"
    if "avx512_vnni" in flags or "avx512vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def _quantization_config(params: Any, is_static: bool) -> Any:
    from optimum.onnxruntime import AutoQuantizationConfig

    isa = detect_isa() if params.isa == "auto" else params.isa
    return getattr(AutoQuantizationConfig, isa)(is_static=is_static, per_channel=params.per_channel)


def _quantizer(source_dir: Path) -> Any:
    from optimum.onnxruntime import ORTQuantizer
    from transformers import AutoConfig

    # ORTQuantizer would read the config itself without trust_remote_code, which prompts when
    # the folder's config has an auto_map; read it here, with remote code off
    config = AutoConfig.from_pretrained(str(source_dir), trust_remote_code=False)
    return ORTQuantizer(source_dir / MODEL_FILE, config=config)


def _quantize_into(quantizer: Any, out_dir: Path, config: Any, **extra: Any) -> None:
    """Run Optimum's quantizer, then deliver its ``model_quantized.onnx`` as ``model.onnx``
    (the name every textcls model folder uses)."""
    work = out_dir / ".quantize"
    quantizer.quantize(save_dir=str(work), quantization_config=config, **extra)
    os.replace(next(work.glob("*quantized*.onnx")), out_dir / MODEL_FILE)
    shutil.rmtree(work, ignore_errors=True)


class _Quantizer:
    """Holds the validated params; subclasses set ``precision`` and implement ``apply``."""

    precision = "fp32"

    def __init__(self, params: Any) -> None:
        self.params = params


class OnnxFp32(_Quantizer):
    precision = "fp32"

    def apply(
        self, source_dir: Path, out_dir: Path, calibration: list[str], tokenizer: Any
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(out_dir / MODEL_FILE)
        ort.InferenceSession(
            str(source_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )


class DynamicInt8(_Quantizer):
    precision = "int8"

    def apply(
        self, source_dir: Path, out_dir: Path, calibration: list[str], tokenizer: Any
    ) -> None:
        _quantize_into(_quantizer(source_dir), out_dir, _quantization_config(self.params, False))


class StaticInt8(_Quantizer):
    precision = "int8"

    def apply(
        self, source_dir: Path, out_dir: Path, calibration: list[str], tokenizer: Any
    ) -> None:
        import datasets
        import onnx
        from optimum.onnxruntime import AutoCalibrationConfig

        texts = calibration[: self.params.calibration_examples]
        encoded = tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=min(64, tokenizer.model_max_length),
        )
        quantizer = _quantizer(source_dir)
        names = {
            i.name
            for i in onnx.load(str(source_dir / MODEL_FILE), load_external_data=False).graph.input
        }
        dataset = datasets.Dataset.from_dict({k: v for k, v in encoded.items() if k in names})
        if self.params.method == "percentile":
            calibration_config = AutoCalibrationConfig.percentiles(
                dataset, percentile=self.params.percentile
            )
        else:
            calibration_config = AutoCalibrationConfig.minmax(dataset)
        config = _quantization_config(self.params, True)
        calibration_dir = out_dir / ".calibration"
        calibration_dir.mkdir(exist_ok=True)
        ranges = quantizer.fit(
            dataset=dataset,
            calibration_config=calibration_config,
            # ONNX Runtime writes this helper model; by default into the working directory
            onnx_augmented_model_name=calibration_dir / "augmented_model.onnx",
            operators_to_quantize=config.operators_to_quantize,
        )
        shutil.rmtree(calibration_dir, ignore_errors=True)
        _quantize_into(quantizer, out_dir, config, calibration_tensors_range=ranges)


class Fp16(_Quantizer):
    precision = "fp16"

    def apply(
        self, source_dir: Path, out_dir: Path, calibration: list[str], tokenizer: Any
    ) -> None:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(source_dir / MODEL_FILE))
        # Inputs and outputs stay fp32 so callers need not change; the inside runs in fp16.
        converted = convert_float_to_float16(model, keep_io_types=True)
        onnx.save(converted, str(out_dir / MODEL_FILE))
