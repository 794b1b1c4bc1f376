"""One inference path for every model folder, PyTorch or ONNX.

``Predictor.load(folder)`` reads a model folder (``model.safetensors``) or an exported one
(``model.onnx``, run by ONNX Runtime) and predicts the same way for both: tokenize, run in
batches of similar length (less padding), softmax, label names. Results come back in input order.

Throughput (docs/predict.md, BENCHMARKS.md "predict-path"): an ONNX folder is read without
importing transformers where that is exact (``folder_tokenizer.py``), and with ``workers`` > 1
its batches run side by side, one ONNX Runtime thread each: for the small students textcls
exports, splitting one batch's small matrix products over threads costs more in
synchronisation than it saves, while whole batches on separate cores share nothing. PyTorch
folders run one batch at a time on torch's own intra-op threads (large matrix products, which
those threads split well). ``batch_size`` defaults to the folder's ``inference.batch_size`` in
``textcls.json``, else ``DEFAULT_BATCH_SIZES`` by backend (64 ONNX, 32 PyTorch).
A calibrated folder (``calibration.temperature`` in ``textcls.json``, see ``calibration.py``)
divides the logits by its temperature before the softmax, so every caller's probabilities agree;
``logits`` stays raw, and argmax never changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from textcls.batch_encoding import Encode, batch_encoder
from textcls.errors import DataError
from textcls.length_batches import length_sorted_batches
from textcls.model_folder import read_meta

ONNX_FILE = "model.onnx"
#: Texts per model call when neither the caller nor the folder's ``inference.batch_size`` says,
#: by backend. Measured through ``Predictor.logits`` (bench/predict_path.py --sweep, SST-2 with
#: tokenization): the int8 BiLSTM student peaked at 64 (5-8% over 32; 128 and 256 lose again as
#: padded steps and cache footprint grow), the fp32 MiniLM teacher at 32 (flat to 128, 8 and 16
#: lower). 64 is also the batch size the quantize stage's accuracy gate scores int8 models at.
DEFAULT_BATCH_SIZE = 32
DEFAULT_BATCH_SIZES = {"onnx": 64, "pytorch": DEFAULT_BATCH_SIZE}


@dataclass
class Prediction:
    label: str
    probabilities: dict[str, float]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


class Predictor:
    """Batched text classification with a PyTorch or ONNX Runtime backend."""

    def __init__(
        self,
        run: Callable[[dict[str, np.ndarray]], np.ndarray],
        tokenizer: Any,
        labels: list[str],
        *,
        max_length: int,
        backend: str,
        input_names: Sequence[str],
        temperature: float = 1.0,
        encode: Encode | None = None,
        load_tokenizer: Callable[[], Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int = 1,
    ) -> None:
        """``tokenizer`` may be None with ``encode`` given: ``load_tokenizer`` then loads it
        when ``self.tokenizer`` is first read."""
        self._run = run
        self.temperature = temperature
        self._tokenizer = tokenizer
        self._load_tokenizer = load_tokenizer
        self.labels = labels
        self.max_length = max_length
        self.backend = backend
        self.input_names = tuple(input_names)
        self.batch_size = batch_size
        self.workers = workers
        self._encode = encode if encode is not None else batch_encoder(tokenizer, max_length)
        #: the PyTorch model it runs (None for ONNX): explanations reuse it rather than load
        #: the folder again
        self.torch_model: Any = None

    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer (explanations read tokens back from ids)."""
        if self._tokenizer is None and self._load_tokenizer is not None:
            self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    @classmethod
    def load(
        cls, folder: str | Path, *, threads: int | None = None, workers: int | None = 1
    ) -> Predictor:
        """Load a model folder.

        ``threads`` caps the intra-op threads of either backend. ``workers``: ONNX batches run
        at once, each on one thread; ``None`` picks the cores this process may use (or
        ``threads``), which is what ``textcls predict`` asks for. PyTorch runs one at a time.
        """
        folder = Path(folder)
        meta = read_meta(folder)
        max_length = folder_max_length(folder, meta)
        is_onnx = (folder / ONNX_FILE).is_file()
        batch_size = _folder_batch_size(
            folder, meta, DEFAULT_BATCH_SIZES["onnx" if is_onnx else "pytorch"]
        )
        if is_onnx:
            if workers is None:
                workers = threads or available_cores()
            predictor = cls._load_onnx(folder, meta, max_length, threads, workers)
        else:
            predictor = cls._load_torch(folder, meta, max_length, threads)
        from textcls.calibration import read_temperature

        predictor.temperature = read_temperature(folder, meta)
        predictor.batch_size = batch_size
        return predictor

    @classmethod
    def _load_onnx(
        cls, folder: Path, meta: dict[str, Any], max_length: int, threads: int | None, workers: int
    ) -> Predictor:
        import onnxruntime as ort
        from textcls.folder_tokenizer import folder_encoder

        options = ort.SessionOptions()
        if workers > 1:
            # Each worker's batch on its own thread: no intra-op pool to wake and join per op.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
        elif threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise DataError(
                f"{folder / ONNX_FILE}: not a loadable ONNX model (truncated or not ONNX?): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        names = [i.name for i in session.get_inputs()]
        output = session.get_outputs()[0].name

        def run(batch: dict[str, np.ndarray]) -> np.ndarray:
            # asarray: no copy of what is int64 already (every tokenizer here)
            feed = {name: np.asarray(batch[name], np.int64) for name in names if name in batch}
            for name in names:
                if name not in feed:  # e.g. token_type_ids for a tokenizer without them
                    feed[name] = np.zeros_like(batch["input_ids"], dtype=np.int64)
            return np.asarray(session.run([output], feed)[0], dtype=np.float32)

        def load_tokenizer() -> Any:
            from textcls.model_folder import remote_code_refused
            from transformers import AutoTokenizer

            # a folder's auto_map never runs, and nothing prompts (see docs/training.md)
            try:
                return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
            except ValueError as exc:
                if "trust_remote_code" in str(exc):
                    raise remote_code_refused(folder) from None
                raise

        encode = folder_encoder(folder, max_length)
        return cls(
            run,
            None if encode is not None else load_tokenizer(),
            list(meta["labels"]),
            max_length=max_length,
            backend="onnx",
            input_names=names,
            encode=encode,
            load_tokenizer=load_tokenizer,
            workers=workers,
        )

    @classmethod
    def _load_torch(
        cls, folder: Path, meta: dict[str, Any], max_length: int, threads: int | None
    ) -> Predictor:
        import torch
        from textcls.model_folder import load_model_folder

        if threads:
            torch.set_num_threads(threads)
        loaded = load_model_folder(folder)
        return cls.from_model(loaded.model, loaded.tokenizer, loaded.labels, max_length)

    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, labels: list[str], max_length: int
    ) -> Predictor:
        """A Predictor over a PyTorch model in memory (in eval mode), as ``load`` builds one
        for a folder: a training job predicts validation with the weights it just trained,
        the same way every later stage would (``textcls.validation_logits``)."""
        import torch

        accepted = {"input_ids", "attention_mask", "token_type_ids"}
        device = next(model.parameters()).device

        def run(batch: dict[str, np.ndarray]) -> np.ndarray:
            inputs = {
                k: torch.from_numpy(v.astype(np.int64)).to(device)
                for k, v in batch.items()
                if k in accepted
            }
            with torch.inference_mode():
                return model(**inputs).logits.float().cpu().numpy()  # type: ignore[no-any-return]

        predictor = cls(
            run,
            tokenizer,
            labels,
            max_length=max_length,
            backend="pytorch",
            input_names=sorted(accepted),
        )
        predictor.torch_model = model
        return predictor

    def logits(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Logits (N, C) in input order; batches hold texts of similar length.

        ``batch_size`` defaults to the model's own (``self.batch_size``). With ``workers`` > 1
        the batches run on that many threads at once (tokenizer and ONNX Runtime both release
        the GIL); each batch's rows are the same either way.
        """
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        batches = length_sorted_batches(texts, batch_size or self.batch_size)

        def run(index: list[int]) -> np.ndarray:
            return self._run(self._encode([texts[i] for i in index]))

        if self.workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                results = pool.map(run, batches)
                for index, logits in zip(batches, results, strict=True):
                    out[index] = logits
                    if progress is not None:
                        progress(len(index))
            return out
        for index in batches:
            out[index] = run(index)
            if progress is not None:
                progress(len(index))
        return out

    def probabilities(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self.probabilities_from_logits(self.logits(texts, batch_size))

    def probabilities_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """Softmax of the logits over the folder's temperature (1.0 when uncalibrated)."""
        return softmax(logits / self.temperature if self.temperature != 1.0 else logits)

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> list[Prediction]:
        """Label and per-class probabilities for each text."""
        return self.predictions_from_logits(self.logits(texts, batch_size))

    def predictions_from_logits(self, logits: np.ndarray) -> list[Prediction]:
        probs = self.probabilities_from_logits(logits)
        return [
            # tolist: Python floats for the whole batch at once, not one numpy scalar at a time
            Prediction(self.labels[best], dict(zip(self.labels, row, strict=True)))
            for best, row in zip(probs.argmax(-1).tolist(), probs.tolist(), strict=True)
        ]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def folder_max_length(folder: str | Path, meta: dict[str, Any]) -> int:
    """The length a folder's texts are truncated to: ``train.max_length`` in textcls.json."""
    train = meta.get("train")
    length = train.get("max_length", 128) if isinstance(train, dict) else 128
    if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
        raise DataError(
            f"{Path(folder) / 'textcls.json'}: train.max_length must be a positive integer, not "
            f"{length!r}; re-export the model, or restore textcls.json"
        )
    return length


def _folder_batch_size(folder: Path, meta: dict[str, Any], default: int) -> int:
    """``inference.batch_size`` from textcls.json, else the backend's ``default``."""
    inference = meta.get("inference")
    size = inference.get("batch_size") if isinstance(inference, dict) else None
    if size is None:
        return default
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise DataError(
            f"{folder / 'textcls.json'}: inference.batch_size must be a positive integer, not "
            f"{size!r}; fix it, or remove it to use the default ({default})"
        )
    return size


def accuracy(
    predictor: Predictor, texts: Sequence[str], labels: Iterable[int], batch_size: int = 64
) -> float:
    """Share of texts whose predicted class id equals the label id."""
    predicted = predictor.logits(texts, batch_size).argmax(-1)
    return float((predicted == np.asarray(list(labels))).mean())
