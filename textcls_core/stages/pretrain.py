"""The optional pretraining stage: unsupervised learning before fine-tuning or distillation.

Objectives (``pretrain.objective``):

- ``mlm``: continued masked-LM pretraining of an ``hf`` encoder (domain adaptation), or of a
  ``transformer`` from scratch;
- ``clm``: next-token prediction for ``gru``, ``bilstm`` (its forward direction) or
  ``transformer`` trained from scratch;
- ``word2vec``: skip-gram word vectors for a student with the ``word`` tokenizer.

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
from textcls.artifacts import ArtifactRef, atomic_dir, directory_sha256
from textcls.config import PipelineConfig, PretrainConfig, TrainConfig
from textcls.errors import ConfigError
from textcls.stages.finetune import data_fingerprint, role_section, work_key

HELD_OUT = 0.05
REPORT_FILE = "pretrain.json"


def pretrain(
    config: PipelineConfig, data_dir: str | Path, out_dir: str | Path, *, plugins: Any = None
) -> ArtifactRef:
    """Run the configured pretraining objective; write the result to ``out_dir``."""
    from textcls.stages.ingest import load_unlabeled_texts, read_labels
    from transformers import set_seed

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    section = config.pretrain
    if section is None:
        raise ConfigError(f"{config.source or 'config'}: no pretrain section")
    role = role_section(config, section.target)
    component = plugins.component("model", role.model.name)
    _check_objective(section, role, component)

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

    key = work_key(
        {
            "stage": "pretrain",
            "pretrain": section.model_dump(mode="json"),
            "role": role.model_dump(mode="json"),
            "seed": config.seed,
            "data": data_fingerprint(data_dir),
            "corpus_rows": len(texts),
        }
    )
    work_dir = out_dir.parent / f".{out_dir.name}.work-{key}"
    set_seed(config.seed)
    labels = read_labels(data_dir)
    runner = {"mlm": _masked_lm, "clm": _causal_lm, "word2vec": _word2vec}[section.objective]
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
        (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(work_dir, ignore_errors=True)
    return ArtifactRef(stage="pretrain", path=str(out_dir), sha256=directory_sha256(out_dir))


def read_report(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / REPORT_FILE).read_text())  # type: ignore[no-any-return]


def _check_objective(section: PretrainConfig, role: Any, component: Any) -> None:
    name = role.model.name
    if section.objective == "mlm" and not (
        component.metadata.get("pretrained") or component.metadata.get("masked_lm")
    ):
        raise ConfigError(
            f"pretrain.objective: mlm needs an hf or transformer model; "
            f"{section.target}.model is {name!r}"
        )
    if section.objective == "clm" and not component.metadata.get("causal_lm"):
        raise ConfigError(
            f"pretrain.objective: clm supports gru, bilstm and transformer; "
            f"{section.target}.model is {name!r}"
        )
    if section.objective == "word2vec":
        tokenizer = role.tokenizer.name if role.tokenizer else "word"
        if tokenizer != "word" or "embedding_dim" not in role.model.params:
            raise ConfigError(
                f"pretrain.objective: word2vec needs the word tokenizer and a model with an "
                f"embedding_dim (bilstm, gru, textcnn, bow); {section.target} has tokenizer "
                f"{tokenizer!r} and model {name!r}"
            )


def _lm_arguments(train: TrainConfig, work_dir: Path, seed: int, evaluate: bool) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work_dir / "checkpoints"),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps or -1,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size or 2 * train.batch_size,
        learning_rate=train.learning_rate,
        lr_scheduler_type=train.lr_scheduler,
        warmup_ratio=train.warmup_ratio,
        weight_decay=train.weight_decay,
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="epoch",
        logging_strategy="epoch",
        save_total_limit=1,
        seed=seed,
        data_seed=seed,
        use_cpu=True,
        report_to="none",
        save_safetensors=True,
        remove_unused_columns=False,
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


def _role_tokenizer(role: Any, texts: list[str], plugins: Any) -> Any:
    from textcls.training.builders import build_tokenizer

    tokenizer, _ = build_tokenizer(
        role.model, role.tokenizer, lambda: iter(texts), role.train, plugins
    )
    return tokenizer


def _encoder_config(
    role: Any, tokenizer: Any, labels: list[str], plugins: Any, **changes: Any
) -> Any:
    """The config the role's ``transformer`` plugin builds, so the language model pretrained
    here has exactly the shape the classifier later loads."""
    import copy

    from textcls.training.builders import build_model

    config = copy.deepcopy(build_model(role.model, tokenizer, labels, plugins).config)
    for name, value in changes.items():
        setattr(config, name, value)
    return config


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
    from transformers import Trainer

    train = section.train
    trainer = Trainer(
        model=model,
        args=_lm_arguments(train, work_dir, seed, evaluate=True),
        train_dataset=_tokenized(tokenizer, texts, train.max_length),
        eval_dataset=_tokenized(tokenizer, held_out, train.max_length),
        data_collator=collator,
    )
    _train(trainer, work_dir)
    loss = float(trainer.evaluate()["eval_loss"])
    return {"held_out_loss": loss, "held_out_perplexity": math.exp(min(loss, 50.0))}


def _masked_lm(
    section: PretrainConfig,
    role: Any,
    labels: list[str],
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    out: Path,
    plugins: Any,
    seed: int,
) -> dict[str, Any]:
    from textcls.pretrained import resolve_pretrained
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    tokenizer = _role_tokenizer(role, texts, plugins)
    if role.model.name == "transformer":
        from transformers import BertForMaskedLM

        model = BertForMaskedLM(_encoder_config(role, tokenizer, labels, plugins))
    else:
        source = resolve_pretrained(role.model.params["pretrained"], plugins)
        model = AutoModelForMaskedLM.from_pretrained(
            source,
            use_safetensors=True,
            # only a named pretrained model whose config section turns it on
            trust_remote_code=bool(role.model.params.get("trust_remote_code", False)),
        )
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    report = _train_language_model(
        model, tokenizer, collator, section, texts, held_out, work_dir, seed
    )
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    return report


def _causal_lm(
    section: PretrainConfig,
    role: Any,
    labels: list[str],
    texts: list[str],
    held_out: list[str],
    work_dir: Path,
    out: Path,
    plugins: Any,
    seed: int,
) -> dict[str, Any]:
    from textcls.training.builders import build_model
    from textcls.training.language_model import CausalLMWrapper
    from transformers import DataCollatorForLanguageModeling

    tokenizer = _role_tokenizer(role, texts, plugins)
    if role.model.name == "transformer":
        from transformers import BertLMHeadModel

        lm: Any = BertLMHeadModel(
            _encoder_config(role, tokenizer, labels, plugins, is_decoder=True)
        )
        keep = lm
    else:
        keep = build_model(role.model, tokenizer, labels, plugins)
        lm = CausalLMWrapper(keep, len(tokenizer))
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    report = _train_language_model(
        lm, tokenizer, collator, section, texts, held_out, work_dir, seed
    )
    if role.model.name == "transformer":
        keep.config.is_decoder = False  # the encoder is fine-tuned bidirectionally afterwards
    keep.save_pretrained(str(out), safe_serialization=True)
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
    plugins: Any,
    seed: int,
) -> dict[str, Any]:
    import datasets
    import torch
    from safetensors.torch import save_file
    from textcls.modeling import EMBEDDINGS_FILE
    from textcls.training.language_model import SkipGram, skipgram_pairs
    from transformers import Trainer

    tokenizer = _role_tokenizer(role, texts, plugins)
    special = set(tokenizer.all_special_ids)
    encode = tokenizer(texts, add_special_tokens=False)["input_ids"]
    all_ids = [i for sequence in encode for i in sequence]
    counts = np.bincount(np.asarray(all_ids, dtype=np.int64), minlength=len(tokenizer))
    counts[list(special)] = 0
    window = 5
    centers, contexts = skipgram_pairs(encode, window, special, seed)
    model = SkipGram(counts, int(role.model.params["embedding_dim"]))
    pairs = datasets.Dataset.from_dict({"center": centers, "context": contexts})
    train = section.train
    trainer = Trainer(
        model=model, args=_lm_arguments(train, work_dir, seed, evaluate=False), train_dataset=pairs
    )
    _train(trainer, work_dir)
    held = tokenizer(held_out, add_special_tokens=False)["input_ids"]
    h_centers, h_contexts = skipgram_pairs(held, window, special, seed)
    model.eval()
    with torch.no_grad():
        torch.manual_seed(seed)
        loss = model(torch.tensor(h_centers), torch.tensor(h_contexts))["loss"].item()
    vectors = model.input_vectors.weight.detach().clone()
    vectors[tokenizer.pad_token_id] = 0.0
    save_file({"weight": vectors.contiguous()}, str(out / EMBEDDINGS_FILE))
    tokenizer.save_pretrained(str(out))
    return {"held_out_loss": loss, "pairs": int(len(centers)), "dim": int(vectors.shape[1])}
