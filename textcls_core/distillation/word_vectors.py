"""Student word vectors from the teacher: each word of the student's vocabulary, read alone.

``student.init: teacher-word-vectors``. A word-level student (the default BiLSTM) starts with an
embedding matrix learned from nothing but its transfer set, so a word seen a few times has a vector
that means little. The teacher has read far more text. Following Model2Vec (Tulkens & van Dongen
2024, MinishLab: static embeddings distilled from a sentence transformer; its Zipf weighting is
left out here), every word of the student's vocabulary is passed through the teacher on its own
(``[CLS] word [SEP]``), its last hidden states are averaged over the word's pieces, and the vectors
are reduced to the student's width with PCA (scikit-learn). The teacher here is the fine-tuned one,
so the vectors also carry what the task taught it. The vectors are scaled to the spread of the
student's own random initialisation (so its learning rate and dropout behave as tuned); special
tokens keep theirs, and so does a word the teacher reads only as its unknown token (else every such
word would start from one and the same vector).
Cost: one teacher pass over single words (a few seconds for 8,000 words on a CPU).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from textcls.errors import ConfigError
from textcls.length_batches import length_sorted_batches

log = logging.getLogger("textcls.distill")

#: Words per teacher batch: single words are a few pieces each, so batches can be large.
BATCH_SIZE = 256


def teacher_word_vectors(teacher: Any, teacher_tokenizer: Any, words: list[str]) -> np.ndarray:
    """(len(words), teacher width): the mean of the teacher's last hidden states over each
    word's own pieces, the word read alone (``[CLS]`` and ``[SEP]`` left out of the mean)."""
    import torch

    teacher.eval()
    out: np.ndarray | None = None
    with torch.no_grad():
        for index in length_sorted_batches(words, BATCH_SIZE):
            encoded = teacher_tokenizer(
                [words[i] for i in index],
                padding=True,
                truncation=True,
                max_length=16,
                return_tensors="pt",
                return_special_tokens_mask=True,
            )
            special = encoded.pop("special_tokens_mask")
            hidden = teacher(**encoded, output_hidden_states=True).hidden_states
            if hidden is None:
                raise ConfigError(
                    "student.init: teacher-word-vectors needs a teacher that returns its hidden "
                    f"states; {type(teacher).__name__} does not"
                )
            states = hidden[-1].float()
            keep = (encoded["attention_mask"].bool() & ~special.bool()).unsqueeze(-1)
            # a word the teacher's tokenizer reads as nothing (control characters) keeps
            # every position, [CLS] and [SEP] included, rather than dividing by zero
            everything = encoded["attention_mask"].bool().unsqueeze(-1)
            keep = torch.where(keep.any(1, keepdim=True), keep, everything)
            pooled = (states * keep).sum(1) / keep.sum(1)
            if out is None:
                out = np.empty((len(words), pooled.shape[1]), dtype=np.float32)
            out[index] = pooled.numpy()
    assert out is not None, "no words to read"
    return out


def reduce_to(vectors: np.ndarray, width: int, seed: int) -> np.ndarray:
    """``vectors`` reduced to ``width`` columns with PCA (centred, principal axes first)."""
    from sklearn.decomposition import PCA

    if width > min(vectors.shape):
        raise ConfigError(
            f"student.init: teacher-word-vectors reduces the teacher's {vectors.shape[1]}-wide "
            f"vectors of {vectors.shape[0]} words to the student's embedding_dim {width}; it "
            f"can be at most {min(vectors.shape)}"
        )
    return PCA(n_components=width, random_state=seed).fit_transform(vectors).astype(np.float32)


def init_from_teacher_words(
    teacher: Any, teacher_tokenizer: Any, student: Any, student_tokenizer: Any, seed: int
) -> dict[str, Any]:
    """Overwrite the student's word rows with the teacher's vectors; returns what it did.

    Special tokens (padding, unknown, ``[CLS]``...) keep their rows: they are no words to read;
    so do words the teacher reads only as its unknown token.
    """
    import torch

    started = time.perf_counter()
    matrix = student.get_input_embeddings().weight
    special = set(student_tokenizer.all_special_ids)
    vocabulary = student_tokenizer.get_vocab()
    by_row = {i: token for token, i in vocabulary.items()}
    candidates = sorted(i for i in vocabulary.values() if i not in special and i < matrix.shape[0])
    # a token as text (a subword tokenizer's "##ing" reads "ing"), and only what the teacher
    # knows: pieces all unknown to it would give every such word the same vector
    unknown = teacher_tokenizer.unk_token_id
    texts = [student_tokenizer.convert_tokens_to_string([by_row[i]]).strip() for i in candidates]
    pieces = teacher_tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    known = [
        (i, text)
        for i, text, ids in zip(candidates, texts, pieces, strict=True)
        if text and any(piece != unknown for piece in ids)
    ]
    if not known:
        raise ConfigError(
            "student.init: teacher-word-vectors: no word of the student's vocabulary is one the "
            "teacher's tokenizer knows; use init: scratch"
        )
    rows, words = [i for i, _ in known], [text for _, text in known]
    vectors = reduce_to(
        teacher_word_vectors(teacher, teacher_tokenizer, words), matrix.shape[1], seed
    )
    read = torch.from_numpy(vectors)
    with torch.no_grad():
        # the spread of the random rows the student would have started from
        scale = float(matrix[rows].std()) / max(float(read.std()), 1e-12)
        matrix[rows] = (read * scale).to(matrix.dtype)
    seconds = time.perf_counter() - started
    log.info("student word vectors from the teacher: %d words in %.1fs", len(words), seconds)
    return {
        "words": len(words),
        "unknown_to_teacher": len(candidates) - len(words),
        "seconds": round(seconds, 3),
    }
