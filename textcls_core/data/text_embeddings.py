"""Sentence embeddings from a frozen pretrained encoder: mean of the token states, once per text.

The label-issue check needs a representation that knows what words mean, which a TF-IDF model
trained on 2,000 rows does not; fine-tuning the teacher once per fold would cost minutes per
fold. A frozen encoder embeds every text once (``torch.inference_mode``), and a linear model on
the embeddings is then cross-validated in seconds. Pooling is the mean of the last hidden states
over the attention mask, as sentence-transformers pools all-MiniLM-L6-v2 (the checkpoint the
project ships), followed by its L2 normalisation.

Texts are batched by length (``length_batches.py``, as the Predictor and the teacher's transfer
pass batch them); the output keeps the input order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from textcls.length_batches import length_sorted_batches

#: Texts per forward pass: large enough to amortise the call, small enough for any CPU's memory.
BATCH_SIZE = 64
#: Tokens kept per text; the label of a text is almost always decided in its first 256 tokens.
MAX_LENGTH = 256


def embed_texts(
    texts: Sequence[str],
    model_dir: str,
    *,
    batch_size: int = BATCH_SIZE,
    max_length: int = MAX_LENGTH,
    trust_remote_code: bool = False,
) -> np.ndarray:
    """(N, H) float32 L2-normalised mean-pooled embeddings of ``texts`` by the encoder at
    ``model_dir`` (a local folder: resolve hub names with ``textcls.pretrained`` first)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    encoder = AutoModel.from_pretrained(
        model_dir, use_safetensors=True, trust_remote_code=trust_remote_code
    )
    encoder.eval()
    out: np.ndarray | None = None
    with torch.inference_mode():
        for chosen in length_sorted_batches(texts, batch_size):
            batch = tokenizer(
                [texts[i] for i in chosen],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            states = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[chosen] = pooled.float().numpy()
    if out is None:  # no texts
        return np.empty((0, int(encoder.config.hidden_size)), dtype=np.float32)
    return out
