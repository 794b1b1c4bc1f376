"""The conformance battery for a model component (after transformers' ``ModelTesterMixin``).

Build the model as the training stages do (``textcls.training.builders``), then: forward, loss,
backward, a few optimizer steps, save and reload with identical logits (``model_folder``),
padding invariance, ONNX export within 1e-4 (``onnx_export``), and int8 quantization through a
quantizer component, loaded and run by the one ``Predictor``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from textcls.testing.params import sample_params
from textcls.testing.results import Battery, CheckFailed, CheckResult
from textcls.testing.toy import LABEL_IDS, LABELS, MAX_LENGTH, TEXTS

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost

#: Largest logit change allowed when a text is padded in a batch with longer texts.
PADDING_TOLERANCE = 1e-4
#: Largest logit change allowed between a model and its saved-and-reloaded copy.
RELOAD_TOLERANCE = 1e-6
TRAIN_STEPS = 3
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # what the Predictor passes


def check_model(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    workdir: str | Path,
    quantizer: str = "ort-dynamic-int8",
) -> list[CheckResult]:
    """Run every model check on the model component ``name``; files go under ``workdir``."""
    from textcls.plugin_manager import get_plugins

    plugins = get_plugins()
    component = plugins.component("model", name)
    work = Path(workdir)
    state = SimpleNamespace(params=sample_params(component, params))
    battery = Battery("model", name)
    battery.run("build", lambda: _build(state, name, plugins))
    battery.run("forward", lambda: _forward(state), needs=["build"])
    battery.run("loss", lambda: _loss(state), needs=["forward"])
    battery.run("backward", lambda: _backward(state), needs=["loss"])
    battery.run("train-steps", lambda: _train_steps(state), needs=["backward"])
    battery.run("save-reload", lambda: _save_reload(state, work / "model"), needs=["forward"])
    battery.run("padding", lambda: _padding(state), needs=["forward"])
    battery.run("onnx-export", lambda: _onnx(state, work / "onnx"), needs=["save-reload"])
    battery.run(
        "int8-predict",
        lambda: _int8(state, work / "int8", quantizer, plugins),
        needs=["onnx-export"],
    )
    return battery.results


def _encode(tokenizer: Any, texts: Any) -> dict[str, Any]:
    encoded = tokenizer(
        list(texts), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
    )
    return {k: v for k, v in encoded.items() if k in MODEL_INPUTS}


def _logits(model: Any, tokenizer: Any, texts: Any = TEXTS) -> Any:
    import torch

    model.eval()
    with torch.no_grad():
        return model(**_encode(tokenizer, texts)).logits.float()


def _build(state: SimpleNamespace, name: str, plugins: PluginHost) -> str:
    import torch
    from textcls.config import ModelRef, TrainConfig
    from textcls.model_folder import count_parameters
    from textcls.training.builders import build_model, build_tokenizer
    from transformers import PreTrainedModel

    state.ref = ModelRef(name=name, params=state.params)
    plugins.component("model", name).validate_params(state.ref.params)
    torch.manual_seed(0)
    state.tokenizer, state.tokenizer_ref = build_tokenizer(
        state.ref, None, lambda: iter(TEXTS), TrainConfig(max_length=MAX_LENGTH), plugins
    )
    model = build_model(state.ref, state.tokenizer, list(LABELS), plugins)
    if not isinstance(model, PreTrainedModel):
        raise CheckFailed(
            f"the factory returned a {type(model).__name__}; a model factory must return a "
            "transformers.PreTrainedModel (with its own PretrainedConfig subclass) so that "
            "Trainer, save_pretrained and ONNX export work"
        )
    state.model = model
    state.batch = _encode(state.tokenizer, TEXTS)
    state.labels = torch.tensor(LABEL_IDS)
    return (
        f"{type(model).__name__}, {count_parameters(model):,} parameters, "
        f"tokenizer {state.tokenizer_ref.name!r}"
    )


def _forward(state: SimpleNamespace) -> str:
    import torch

    state.model.eval()
    with torch.no_grad():
        output = state.model(**state.batch)
    logits = getattr(output, "logits", None)
    if logits is None:
        raise CheckFailed(
            "forward() returned no `logits`; return a ModelOutput such as "
            "transformers.modeling_outputs.SequenceClassifierOutput(logits=...)"
        )
    expected = (len(TEXTS), len(LABELS))
    if tuple(logits.shape) != expected:
        raise CheckFailed(
            f"logits have shape {tuple(logits.shape)}, expected {expected} (batch, labels): "
            "size the classifier from ModelContext.num_labels"
        )
    if not torch.isfinite(logits).all():
        raise CheckFailed("logits contain NaN or infinity on a freshly built model")
    return f"logits {tuple(logits.shape)}"


def _loss(state: SimpleNamespace) -> str:
    import torch

    state.model.train()
    output = state.model(**state.batch, labels=state.labels)
    loss = getattr(output, "loss", None)
    if loss is None:
        raise CheckFailed(
            "forward(labels=...) returned no `loss`; compute cross-entropy when labels are "
            "given (textcls.classification_loss does it)"
        )
    if loss.dim() != 0 or not torch.isfinite(loss):
        raise CheckFailed(f"loss must be a finite scalar; got shape {tuple(loss.shape)}: {loss}")
    return f"loss {loss.item():.4f}"


def _backward(state: SimpleNamespace) -> str:
    import torch

    model = state.model
    model.zero_grad(set_to_none=True)
    model.train()
    model(**state.batch, labels=state.labels).loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise CheckFailed("the model has no trainable parameters")
    missing = [n for n, p in trainable if p.grad is None]
    broken = [n for n, p in trainable if p.grad is not None and not torch.isfinite(p.grad).all()]
    model.zero_grad(set_to_none=True)
    if broken:
        raise CheckFailed(f"NaN or infinite gradients in {', '.join(broken[:5])}")
    if len(missing) == len(trainable):
        raise CheckFailed(
            "no gradient reached any parameter: the loss is detached from the model "
            "(torch.no_grad, .detach() or numpy in forward?)"
        )
    if missing:
        raise CheckFailed(
            f"{len(missing)} of {len(trainable)} parameter tensors get no gradient "
            f"({', '.join(missing[:5])}): remove unused layers, or freeze them with "
            "requires_grad_(False); unused parameters break multi-GPU (DDP) training"
        )
    return f"gradients reach all {len(trainable)} parameter tensors"


def _train_steps(state: SimpleNamespace) -> str:
    import torch

    model = state.model
    model.eval()  # no dropout: the loss must fall for the steps themselves, not by chance
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-3)
    with torch.no_grad():
        first = float(model(**state.batch, labels=state.labels).loss)
    for _ in range(TRAIN_STEPS):
        optimizer.zero_grad()
        model(**state.batch, labels=state.labels).loss.backward()
        optimizer.step()
    optimizer.zero_grad()
    with torch.no_grad():
        last = float(model(**state.batch, labels=state.labels).loss)
    if not last < first:
        raise CheckFailed(
            f"{TRAIN_STEPS} AdamW steps (lr 1e-3) on one batch did not lower the loss "
            f"({first:.4f} -> {last:.4f}); check that the loss is computed from the logits"
        )
    return f"loss {first:.4f} -> {last:.4f} in {TRAIN_STEPS} AdamW steps"


def _save_reload(state: SimpleNamespace, folder: Path) -> str:
    from textcls.model_folder import load_model_folder, write_model_folder

    folder.mkdir(parents=True)
    meta = {
        "model": state.ref.model_dump(mode="json"),
        "tokenizer": state.tokenizer_ref.model_dump(mode="json"),
        "labels": list(LABELS),
        "train": {"max_length": MAX_LENGTH},
    }
    write_model_folder(folder, state.model, state.tokenizer, meta)
    loaded = load_model_folder(folder)
    before = _logits(state.model, state.tokenizer)
    after = _logits(loaded.model, loaded.tokenizer)
    diff = float((before - after).abs().max())
    if diff > RELOAD_TOLERANCE:
        raise CheckFailed(
            f"the reloaded model's logits differ by {diff:.2e}: a weight is not saved "
            "(keep tensors as parameters or buffers) or a hyperparameter is missing from the "
            "model's config"
        )
    state.folder = folder
    return f"max |Δlogit| {diff:.1e} after reload"


def _padding(state: SimpleNamespace) -> str:
    import torch

    together = _logits(state.model, state.tokenizer)
    alone = torch.cat([_logits(state.model, state.tokenizer, [text]) for text in TEXTS])
    diff = float((together - alone).abs().max())
    if diff > PADDING_TOLERANCE:
        raise CheckFailed(
            f"a text's logits change by {diff:.2e} when it is padded in a batch with longer "
            "texts: use attention_mask to keep padding out of attention, pooling and recurrence"
        )
    return f"max |Δlogit| {diff:.1e} padded vs alone"


def _onnx(state: SimpleNamespace, folder: Path) -> str:
    from textcls.model_folder import META_FILE
    from textcls.onnx_export import export_onnx

    export_onnx(state.folder, folder)
    onnx = json.loads((folder / META_FILE).read_text())["onnx"]
    state.onnx = folder
    return f"{onnx['exporter']}: max |Δlogit| {onnx['max_abs_diff_vs_pytorch']:.1e} vs PyTorch"


def _int8(state: SimpleNamespace, folder: Path, quantizer_name: str, plugins: PluginHost) -> str:
    from textcls.predictor import ONNX_FILE, Predictor

    quantizer = plugins.component("quantizer", quantizer_name).create(None)
    folder.mkdir(parents=True)
    quantizer.apply(state.onnx, folder, list(TEXTS), state.tokenizer)
    for item in state.onnx.iterdir():  # config, tokenizer, textcls.json: as the stage copies
        if item.is_file() and item.name != ONNX_FILE:
            shutil.copy2(item, folder / item.name)
    predictor = Predictor.load(folder)
    if predictor.backend != "onnx":
        raise CheckFailed(f"the Predictor loaded {folder} with {predictor.backend}, not onnx")
    predictions = predictor.predict(list(TEXTS))
    unknown = {p.label for p in predictions} - set(LABELS)
    if unknown:
        raise CheckFailed(f"the int8 model predicts labels {sorted(unknown)}, not in {LABELS}")
    for prediction in predictions:
        if abs(sum(prediction.probabilities.values()) - 1.0) > 1e-4:
            raise CheckFailed("the int8 model's probabilities do not sum to 1")
    reference = _logits(state.model, state.tokenizer).numpy().argmax(-1)
    agree = int((predictor.logits(list(TEXTS)).argmax(-1) == reference).sum())
    size = (folder / ONNX_FILE).stat().st_size
    return (
        f"{quantizer_name} ({quantizer.precision}), {size / 1e6:.2f} MB, Predictor agrees with "
        f"PyTorch on {agree}/{len(TEXTS)} texts"
    )
