"""The optional pretraining stage: unsupervised learning before fine-tuning or distillation.

Objectives (``pretrain.objective``):

- ``mlm`` and ``clm``: masked or next-token language modelling, for any model component that
  declares the objective in ``lm_objectives`` and supplies its ``language_model`` head (built
  in: ``hf`` and ``transformer`` for mlm; ``gru``, ``bilstm`` and ``transformer`` for clm). The
  head wraps the classifier the component's factory builds, and the classifier is saved;
- ``word2vec``: skip-gram word vectors, and ``glove``: GloVe word vectors
  (``training/glove.py``), for a model that declares ``word_vectors`` with a ``word_level``
  tokenizer.

The corpus is ``pretrain.corpus`` (read with the pipeline's data source, unlabelled) or, by
default, the training texts. 5% is held out: ``pretrain.json`` reports the held-out loss and,
for language models, the perplexity. The output folder holds the tokenizer and either a model
(``init_from`` for fine-tuning) or ``embeddings.safetensors``.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from textcls.artifact_files import PRETRAIN_REPORT, data_fingerprint, read_labels
from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256
from textcls.components import Component
from textcls.config import PipelineConfig, PretrainConfig
from textcls.contracts import ModelCapabilities, TokenizerCapabilities
from textcls.errors import ConfigError
from textcls.plugin_manager import PluginHost
from textcls.training.builders import default_tokenizer
from textcls.training.job import logged_evaluation, role_section, work_dir_for

HELD_OUT = 0.05


def pretrain(
    config: PipelineConfig,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    plugins: PluginHost | None = None,
) -> ArtifactRef:
    """Run the configured pretraining objective; write the result to ``out_dir``."""
    from textcls.data.unlabeled import load_unlabeled_texts
    from transformers import set_seed

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    section = config.pretrain
    if section is None:
        raise ConfigError(f"{config.source or 'config'}: no pretrain section")
    role = role_section(config, section.target)
    component = plugins.component("model", role.model.name)
    _check_objective(section, role, component, plugins)

    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    if section.corpus is not None:
        texts = load_unlabeled_texts(
            config, section.corpus, "pretrain.corpus", plugins=plugins
        ).to_pylist()
    else:
        import datasets

        texts = list(datasets.load_from_disk(str(data_dir))["train"]["text"])
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(texts))
    held = max(1, int(len(texts) * HELD_OUT))
    held_out = [texts[i] for i in order[:held]]
    train_texts = [texts[i] for i in order[held:]]

    work_dir = work_dir_for(
        out_dir,
        {
            "stage": "pretrain",
            "pretrain": section.model_dump(mode="json"),
            "role": role.model_dump(mode="json"),
            "seed": config.seed,
            "data": data_fingerprint(data_dir),
            "corpus_rows": len(texts),
        },
    )
    set_seed(config.seed)
    labels = read_labels(data_dir)
    runner = {"word2vec": _word2vec, "glove": _glove}.get(section.objective, _language_model)
    with atomic_dir(out_dir) as tmp:
        report = runner(
            section, role, labels, train_texts, held_out, work_dir, tmp, plugins, config.seed
        )
        report.update(
            objective=section.objective,
            target=section.target,
            model=role.model.name,
            corpus_texts=len(texts),
            held_out_texts=held,
        )
        (tmp / PRETRAIN_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(work_dir, ignore_errors=True)
    return ArtifactRef(stage="pretrain", path=str(out_dir), sha256=directory_sha256(out_dir))


def _check_objective(
    section: PretrainConfig, role: Any, component: Component, plugins: PluginHost
) -> None:
    """Ask the model's (and tokenizer's) declared capabilities whether the objective fits."""
    name = role.model.name
    caps = component.capabilities_as(ModelCapabilities)
    if section.objective in ("mlm", "clm") and section.objective not in caps.lm_objectives:
        able = [
            c.name
            for c in plugins.registry("model")
            if section.objective in c.capabilities_as(ModelCapabilities).lm_objectives
        ]
        raise ConfigError(
            f"pretrain.objective: {section.target}.model {name!r} declares no "
            f"{section.objective} language-model head; models that do: {', '.join(able)}"
        )
    if section.objective in ("word2vec", "glove"):
        tokenizer_ref = role.tokenizer or default_tokenizer(role.model, plugins)
        tokenizer = plugins.component("tokenizer", tokenizer_ref.name)
        if not (caps.word_vectors and tokenizer.capabilities_as(TokenizerCapabilities).word_level):
            raise ConfigError(
                f"pretrain.objective: {section.objective} needs a word-level tokenizer (word) "
                "and a model "
                f"that takes word vectors (bilstm, gru, textcnn, bow); {section.target} has "
                f"tokenizer {tokenizer_ref.name!r} and model {name!r}"
            )


def _train(trainer: Any, work_dir: Path) -> Any:
    from textcls.training.checkpoints import resumable_checkpoint

    resume = resumable_checkpoint(work_dir / "checkpoints")
    return trainer.train(resume_from_checkpoint=str(resume) if resume else None)


def _tokenized(tokenizer: Any, texts: list[str], max_length: int) -> Any:
    import datasets
    from textcls.artifacts import quiet_datasets

    with quiet_datasets():
        return datasets.Dataset.from_dict({"text": texts}).map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=max_length),
            batched=True,
            remove_columns=["text"],
            keep_in_memory=True,
        )


def _role_tokenizer(role: Any, texts: list[str], plugins: PluginHost) -> Any:
    from textcls.training.builders import build_tokenizer

    tokenizer, _ = build_tokenizer(
        role.model, role.tokenizer, lambda: iter(texts), role.train, plugins
    )
    return tokenizer


def _train_language_model(
    model: Any,
    tokenizer: Any,
    collator: Any,
    section: PretrainConfig,
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    seed: int,
) -> dict[str, Any]:
    """Train a (masked or causal) language model with Trainer; report held-out perplexity."""
    from textcls.training.arguments import training_arguments
    from textcls.training.tracking_callback import tracking_callbacks
    from textcls.training.trainer import TextclsTrainer

    train = section.train
    trainer = TextclsTrainer(
        model=model,
        args=training_arguments(
            train, work_dir / "checkpoints", seed, best_by="loss", remove_unused_columns=False
        ),
        train_dataset=_tokenized(tokenizer, texts, train.max_length),
        eval_dataset=_tokenized(tokenizer, held_out, train.max_length),
        data_collator=collator,
        callbacks=tracking_callbacks("pretrain"),
    )
    _train(trainer, work_dir)
    # Every evaluation is logged, that of the weights kept (the best) included; evaluating
    # them again would repeat a full pass over the held-out texts.
    loss = float((logged_evaluation(trainer) or trainer.evaluate())["eval_loss"])
    return {"held_out_loss": loss, "held_out_perplexity": math.exp(min(loss, 50.0))}


def _language_model(
    section: PretrainConfig,
    role: Any,
    labels: list[str],
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    out: Path,
    plugins: PluginHost,
    seed: int,
) -> dict[str, Any]:
    """Train the model component's own language-model head; save the classifier under it."""
    from textcls.training.builders import build_model
    from transformers import DataCollatorForLanguageModeling

    tokenizer = _role_tokenizer(role, texts, plugins)
    model = build_model(role.model, tokenizer, labels, plugins)
    head = plugins.component("model", role.model.name).capabilities_as(ModelCapabilities)
    assert head.language_model is not None  # _check_objective asked
    lm = head.language_model(model, section.objective)
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm=section.objective == "mlm", mlm_probability=0.15
    )
    report = _train_language_model(
        lm, tokenizer, collator, section, texts, held_out, work_dir, seed
    )
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    return report


def _word2vec(
    section: PretrainConfig,
    role: Any,
    labels: list[str],
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    out: Path,
    plugins: PluginHost,
    seed: int,
) -> dict[str, Any]:
    import datasets
    import torch
    from textcls.training.language_model import SkipGram, skipgram_pairs

    tokenizer = _role_tokenizer(role, texts, plugins)
    special = set(tokenizer.all_special_ids)
    encode = tokenizer(texts, add_special_tokens=False)["input_ids"]
    all_ids = [i for sequence in encode for i in sequence]
    counts = np.bincount(np.asarray(all_ids, dtype=np.int64), minlength=len(tokenizer))
    counts[list(special)] = 0
    window = 5
    centers, contexts = skipgram_pairs(encode, window, special, seed)
    params = plugins.component("model", role.model.name).validate_params(role.model.params)
    model = SkipGram(counts, int(params.embedding_dim))  # type: ignore[attr-defined]
    pairs = datasets.Dataset.from_dict({"center": centers, "context": contexts})
    _train_word_vectors(model, pairs, section, work_dir, seed)
    held = tokenizer(held_out, add_special_tokens=False)["input_ids"]
    h_centers, h_contexts = skipgram_pairs(held, window, special, seed)
    model.eval()
    with torch.no_grad():
        torch.manual_seed(seed)
        loss = model(torch.tensor(h_centers), torch.tensor(h_contexts))["loss"].item()
    vectors = _save_word_vectors(model.input_vectors.weight.detach().clone(), tokenizer, out)
    return {"held_out_loss": loss, "pairs": int(len(centers)), "dim": int(vectors.shape[1])}


def _train_word_vectors(
    model: Any,
    dataset: Any,
    section: PretrainConfig,
    work_dir: Path,
    seed: int,
    optimizer: Any = None,
) -> None:
    """Train a word-vector model (skip-gram, GloVe) with the section's Trainer settings."""
    from textcls.training.arguments import training_arguments
    from textcls.training.tracking_callback import tracking_callbacks
    from textcls.training.trainer import TextclsTrainer

    trainer = TextclsTrainer(
        model=model,
        args=training_arguments(
            section.train,
            work_dir / "checkpoints",
            seed,
            evaluate=False,
            remove_unused_columns=False,
        ),
        train_dataset=dataset,
        optimizers=(optimizer, None),
        callbacks=tracking_callbacks("pretrain"),
    )
    _train(trainer, work_dir)


def _save_word_vectors(vectors: Any, tokenizer: Any, out: Path) -> Any:
    """Write the vectors (the padding row zeroed) and their tokenizer; return the vectors."""
    from safetensors.torch import save_file
    from textcls.modeling import EMBEDDINGS_FILE

    vectors[tokenizer.pad_token_id] = 0.0
    save_file({"weight": vectors.contiguous()}, str(out / EMBEDDINGS_FILE))
    tokenizer.save_pretrained(str(out))
    return vectors


def _glove(
    section: PretrainConfig,
    role: Any,
    labels: list[str],
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    out: Path,
    plugins: PluginHost,
    seed: int,
) -> dict[str, Any]:
    """GloVe vectors: co-occurrence counts, then weighted least squares with AdaGrad."""
    import datasets
    import torch
    from textcls.training.glove import WINDOW, GloVe, cooccurrence

    tokenizer = _role_tokenizer(role, texts, plugins)
    special = set(tokenizer.all_special_ids)
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    rows, cols, counts = cooccurrence(encoded, WINDOW, special, len(tokenizer))
    if len(rows) == 0:
        raise ConfigError(
            "pretrain.objective glove: the corpus has no two words within "
            f"{WINDOW} of each other; give a corpus of texts with more than one word"
        )
    params = plugins.component("model", role.model.name).validate_params(role.model.params)
    model = GloVe(len(tokenizer), int(params.embedding_dim))  # type: ignore[attr-defined]
    entries = datasets.Dataset.from_dict({"row": rows, "col": cols, "count": counts})
    # AdaGrad, as the paper; the schedule is the section's
    optimizer = torch.optim.Adagrad(model.parameters(), lr=section.train.learning_rate)
    _train_word_vectors(model, entries, section, work_dir, seed, optimizer)
    held = tokenizer(held_out, add_special_tokens=False)["input_ids"]
    h_rows, h_cols, h_counts = cooccurrence(held, WINDOW, special, len(tokenizer))
    model.eval()
    loss = None
    if len(h_rows):
        # Held-out counts come from a corpus ~19x smaller: scale them to the training
        # corpus's size, so the loss asks whether the vectors predict the same statistics.
        scale = sum(map(len, encoded)) / max(1, sum(map(len, held)))
        with torch.no_grad():
            loss = model(
                torch.from_numpy(h_rows),
                torch.from_numpy(h_cols),
                torch.from_numpy(h_counts * np.float32(scale)),
            )["loss"].item()
    vectors = _save_word_vectors(model.vectors(), tokenizer, out)
    return {
        "held_out_loss": loss,
        "cooccurrence_entries": int(len(rows)),
        "window": WINDOW,
        "dim": int(vectors.shape[1]),
    }
