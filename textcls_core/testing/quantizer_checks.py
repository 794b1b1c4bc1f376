"""The conformance battery for a quantizer component.

A small classifier (``toy.toy_pooler``) is exported to fp32 ONNX as textcls exports its own
architectures; the quantizer turns that into its ``model.onnx``, and the one ``Predictor``
must load and run the result like any model folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.testing.toy import LABELS, MAX_LENGTH, TEXTS, toy_pooler, toy_tokenizer

PRECISIONS = ("fp32", "fp16", "int8", "int4")


def check_quantizer(
    name: str, params: dict[str, Any] | None = None, *, workdir: str | Path
) -> list[CheckResult]:
    """Run every quantizer check on the quantizer component ``name``."""
    from textcls.plugin_manager import get_plugins

    component = get_plugins().component("quantizer", name)
    work = Path(workdir)
    state = SimpleNamespace(params=sample_params(component, params))
    battery = Battery("quantizer", name)
    battery.run("build", lambda: _build(state, component))
    battery.run("apply", lambda: _apply(state, work), needs=["build"])
    battery.run("predict", lambda: _predict(state), needs=["apply"])
    return battery.results


def _build(state: SimpleNamespace, component: Any) -> str:
    quantizer = component.create(state.params)
    if quantizer.precision not in PRECISIONS:
        raise CheckFailed(
            f"precision is {quantizer.precision!r}; say what the model becomes: one of "
            f"{', '.join(PRECISIONS)}"
        )
    state.quantizer = quantizer
    return f"{type(quantizer).__name__}, precision {quantizer.precision}"


def _fp32_folder(folder: Path) -> Any:
    """An fp32 ONNX model folder: model.onnx, config.json, tokenizer and textcls.json."""
    from textcls.model_folder import META_FILE
    from textcls.onnx_export import _torch_export
    from transformers import BertConfig

    tokenizer = toy_tokenizer()
    model = toy_pooler(tokenizer, hidden_size=32, seed=0)
    folder.mkdir(parents=True)
    _torch_export(model, tokenizer, folder / "model.onnx", ["input_ids", "attention_mask"])
    # a config of a type transformers ships, as quantizers read it (the graph is the toy's)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_labels=len(LABELS))
    config.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    meta = {
        "model": {"name": "toy-pooler", "params": {}},
        "labels": list(LABELS),
        "train": {"max_length": MAX_LENGTH},
    }
    (folder / META_FILE).write_text(json.dumps(meta) + "\n")
    return tokenizer


def _apply(state: SimpleNamespace, work: Path) -> str:
    from textcls.predictor import ONNX_FILE

    source, out = work / "fp32", work / "quantized"
    tokenizer = _fp32_folder(source)
    out.mkdir(parents=True)
    state.quantizer.apply(source, out, list(TEXTS), tokenizer)
    if not (out / ONNX_FILE).is_file():
        raise CheckFailed(f"apply() wrote no {ONNX_FILE} into the output folder")
    for item in source.iterdir():  # config, tokenizer, textcls.json: as the stage copies them
        if item.is_file() and item.name != ONNX_FILE:
            shutil.copy2(item, out / item.name)
    state.source, state.out = source, out
    before, after = (p / ONNX_FILE for p in (source, out))
    return f"{before.stat().st_size / 1e3:.0f} kB -> {after.stat().st_size / 1e3:.0f} kB"


def _predict(state: SimpleNamespace) -> str:
    import numpy as np
    from textcls.predictor import Predictor

    fp32 = Predictor.load(state.source).logits(list(TEXTS))
    quantized = Predictor.load(state.out)
    logits = quantized.logits(list(TEXTS))
    if not np.isfinite(logits).all():
        raise CheckFailed("the quantized model's logits contain NaN or infinity")
    for prediction in quantized.predict(list(TEXTS)):
        if prediction.label not in LABELS:
            raise CheckFailed(f"predicted label {prediction.label!r} is not one of {LABELS}")
    diff = float(np.abs(logits - fp32).max())
    return f"Predictor runs it; max |Δlogit| {diff:.1e} vs fp32 ONNX"
