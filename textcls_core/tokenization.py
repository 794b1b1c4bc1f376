"""Tokenizer building blocks shared by tokenizer plugins.

Every textcls tokenizer is a ``transformers.PreTrainedTokenizerFast`` saved beside its model, so
training, export and prediction treat them alike. Trained tokenizers reserve the same special
tokens in the same ids: ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wrap_tokenizer(tokenizer: Any, *, max_length: int = 512) -> Any:
    """Wrap a trained ``tokenizers.Tokenizer`` as a PreTrainedTokenizerFast with our specials."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def batched(texts: Iterable[str], size: int = 10_000) -> Iterator[list[str]]:
    """Group texts into lists, the form ``tokenizers`` trainers iterate fastest."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


TextSource = Callable[[], Iterable[str]]
