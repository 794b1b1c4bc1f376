"""Built-in quantizers: onnx-fp32, ort-dynamic-int8, ort-static-int8, ort-fp16.

A quantizer's factory returns an object with ``precision`` and
``apply(source_dir, out_dir, calibration_texts, tokenizer)``, which reads the fp32
``source_dir/model.onnx`` and writes ``out_dir/model.onnx``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from textcls import NoParams, Register, hookimpl


class DynamicInt8Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    isa: Literal["auto", "avx512_vnni", "avx512", "avx2", "arm64"] = Field(
        "auto", description="Instruction set to tune for; auto reads this machine's CPU"
    )
    per_channel: bool = False


class StaticInt8Params(DynamicInt8Params):
    calibration_examples: int = Field(256, gt=0, description="Train texts used to calibrate")
    method: Literal["minmax", "percentile"] = "minmax"
    percentile: float = Field(99.999, gt=90, le=100)


def _lazy(name: str) -> Any:
    """A factory that imports onnxruntime and Optimum only when a quantizer is built."""

    def factory(params: Any) -> Any:
        from textcls.plugins import quantizer_impl

        return getattr(quantizer_impl, name)(params)

    factory.__doc__ = name
    return factory


@hookimpl
def textcls_register_quantizers(register: Register) -> None:
    register(
        "onnx-fp32",
        _lazy("OnnxFp32"),
        params=NoParams,
        description="ONNX export with ONNX Runtime graph optimisation (fp32)",
    )
    register(
        "ort-dynamic-int8",
        _lazy("DynamicInt8"),
        params=DynamicInt8Params,
        description="Dynamic int8 weights via Optimum's ORTQuantizer, tuned to the CPU",
    )
    register(
        "ort-static-int8",
        _lazy("StaticInt8"),
        params=StaticInt8Params,
        description="Static int8 calibrated on train examples (minmax or percentile)",
    )
    register(
        "ort-fp16",
        _lazy("Fp16"),
        params=NoParams,
        description="Half-precision weights and activations, for GPU targets",
    )
