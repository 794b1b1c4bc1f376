"""What an explainer component works on: one model folder, loaded once.

An explainer's ``explain(subject, texts, targets)`` gets an :class:`ExplainSubject`. Every
subject has the one :class:`~textcls.predictor.Predictor` (so a method that only needs
predictions, such as occlusion, works on any folder: PyTorch, ONNX fp32 or int8); a PyTorch
folder also has its ``PreTrainedModel`` (``subject.model``) for gradient methods. The words to
score come from :func:`~textcls.explanation.words.split_words`, the same for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from textcls.explanation.words import Word, merge_token_scores, split_words

ModelKind = Literal["pytorch", "onnx"]


@dataclass
class Attribution:
    """An explainer's answer for one text: one score per word, and optional diagnostics.

    ``scores[i]`` is how much word ``i`` of ``split_words(text)`` pushed the model toward the
    target label (positive: toward it). ``details`` holds named numbers a method reports
    about itself, e.g. integrated gradients' ``convergence_delta``.
    """

    scores: Sequence[float]
    details: dict[str, float] = field(default_factory=dict)


class ExplainSubject:
    """One model folder as explainers see it: predictor, labels, tokenizer, and torch model."""

    def __init__(
        self, folder: str | Path, *, threads: int | None = None, predictor: Any = None
    ) -> None:
        """``predictor``: the folder's Predictor when the caller has loaded it already (the
        evaluation has); its PyTorch model is then ``model`` too, nothing is loaded twice."""
        from textcls.predictor import Predictor

        self.folder = Path(folder)
        self.predictor = predictor or Predictor.load(self.folder, threads=threads)
        self._model: Any = self.predictor.torch_model

    @property
    def kind(self) -> ModelKind:
        """``pytorch`` (model.safetensors) or ``onnx`` (model.onnx, fp32 or quantized)."""
        return "onnx" if self.predictor.backend == "onnx" else "pytorch"

    @property
    def labels(self) -> list[str]:
        return list(self.predictor.labels)

    @property
    def tokenizer(self) -> Any:
        """The folder's fast tokenizer (offsets available)."""
        return self.predictor.tokenizer

    @property
    def max_length(self) -> int:
        return self.predictor.max_length

    @property
    def model(self) -> Any:
        """The ``PreTrainedModel`` of a PyTorch folder, in eval mode (loaded on first use)."""
        if self.kind != "pytorch":
            raise TypeError(f"{self.folder} is an ONNX model folder; it has no PyTorch model")
        if self._model is None:
            from textcls.model_folder import load_model_folder

            self._model = load_model_folder(self.folder).model.eval()
        return self._model

    def words(self, text: str) -> list[Word]:
        """The words each attribution scores, in text order."""
        return split_words(text)

    def merge_tokens(
        self, text: str, offsets: Sequence[tuple[int, int]], scores: Sequence[float] | np.ndarray
    ) -> list[float]:
        """Per-token scores summed into per-word scores (see ``merge_token_scores``)."""
        return merge_token_scores(text, offsets, scores)

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities (N, C) through the one Predictor, batched."""
        return self.predictor.probabilities(texts, batch_size)

    def without(self, text: str, removed: Sequence[int] | set[int]) -> str:
        """``text`` with the words at indices ``removed`` cut out (occlusion, deletion test).

        A text left with no words becomes the pad token: a tokenizer that adds no special
        tokens would otherwise give the model a sequence of length 0, which has no prediction.
        """
        from textcls.explanation.words import remove_words

        words = self.words(text)
        kept = remove_words(text, words, set(removed))
        if not split_words(kept):
            return str(self.tokenizer.pad_token or kept)
        return kept
