"""The distillation stage: a small student learns from the teacher's outputs.

1. The transfer set: the labelled train split, plus optional unlabelled text, plus optional
   augmented copies (Tang et al. 2019), up to ``transfer.multiplier`` times the train split.
2. Teacher logits for the whole transfer set, each distinct text scored once per teacher and
   cached by content (``cache_dir``); the pass's size and seconds go into the student's
   ``textcls.json`` (``distill.transfer.teacher_pass``) and the evaluation report. Logit-only
   strategies never run the teacher inside the loop; hidden-state and attention strategies
   do, and need the teacher's tokenizer.
3. The student (from scratch, the pretraining output, or the teacher's own layers) trains with
   ``DistillationTrainer``, resumably, like any training job.

Examples beyond the train split carry the teacher's argmax as their hard label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textcls.artifact_files import data_fingerprint, read_labels
from textcls.artifacts import ArtifactRef, directory_sha256
from textcls.config import STARTS_FROM_TEACHER, PipelineConfig, StudentConfig
from textcls.errors import ConfigError
from textcls.plugin_manager import PluginHost
from textcls.training.job import (
    execute_job,
    job_ready,
    job_spec,
    model_meta,
    prepare_job,
    work_dir_for,
)


def distill(
    config: PipelineConfig,
    data_dir: str | Path,
    teacher_dir: str | Path,
    out_dir: str | Path,
    *,
    init_from: str | None = None,
    cache_dir: str | Path | None = None,
    plugins: PluginHost | None = None,
) -> ArtifactRef:
    """Distil the teacher in ``teacher_dir`` into the configured student; write ``out_dir``."""

    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    section = config.student
    if section is None or section.distill is None:
        raise ConfigError(
            f"{config.source or 'config'}: student.distill is not set; a student "
            "without a distiller trains on hard labels (the fine-tune stage)"
        )
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    teacher_dir = Path(teacher_dir).resolve()
    cache = Path(cache_dir) if cache_dir else out_dir.parent / ".cache" / "teacher-logits"
    teacher_sha = directory_sha256(teacher_dir)
    work_dir = work_dir_for(
        out_dir,
        {
            "stage": "distill",
            "student": section.model_dump(mode="json"),
            "seed": config.seed,
            "data": data_fingerprint(data_dir),
            "teacher": teacher_sha,
            "init_from": init_from,
        },
    )
    if not job_ready(work_dir):
        _prepare(
            config,
            section,
            data_dir,
            teacher_dir,
            teacher_sha,
            work_dir,
            out_dir,
            cache,
            init_from,
            plugins,
        )
    return execute_job(work_dir, section.train.processes, out_dir, "student")


#: Where a model folder's config.json keeps the width of its hidden states, by family.
_HIDDEN_WIDTH_KEYS = ("hidden_size", "dim", "d_model", "n_embd")


def _check_word_vector_width(
    section: StudentConfig, teacher_dir: Path, plugins: PluginHost
) -> None:
    """A student wider than the teacher's hidden states fails before the teacher's pass.

    ``teacher-word-vectors`` reduces the teacher's vectors to the student's ``embedding_dim``
    with PCA, which cannot add dimensions; ``reduce_to`` says so too, but only after the
    transfer set was scored (minutes on a large one). A teacher whose config names no width
    known here is left to that later check.
    """
    width = getattr(
        plugins.component("model", section.model.name).validate_params(section.model.params),
        "embedding_dim",
        None,
    )
    from textcls.model_folder import read_model_config

    teacher_config = read_model_config(teacher_dir)
    if teacher_config is None:
        return
    key = next((k for k in _HIDDEN_WIDTH_KEYS if isinstance(teacher_config.get(k), int)), None)
    if key is None or not isinstance(width, int):
        return
    hidden = teacher_config[key]
    if width > hidden:
        raise ConfigError(
            f"student.init: teacher-word-vectors reduces the teacher's hidden states "
            f"({key}: {hidden} in {teacher_dir / 'config.json'}) to the student's "
            f"embedding_dim, but student.model.params.embedding_dim is {width}; set it to at "
            f"most {hidden}, or use init: scratch"
        )


def _prepare(
    config: PipelineConfig,
    section: StudentConfig,
    data_dir: Path,
    teacher_dir: Path,
    teacher_sha: str,
    work_dir: Path,
    out_dir: Path,
    cache: Path,
    init_from: str | None,
    plugins: PluginHost,
) -> None:
    import datasets
    import torch
    from safetensors.torch import save_file
    from textcls.contracts import DistillerCapabilities, distiller_needs
    from textcls.distillation.teacher_outputs import cached_teacher_logits
    from textcls.model_folder import load_model_folder, read_meta
    from textcls.training.builders import build_model, build_tokenizer
    from transformers import set_seed

    assert section.distill is not None
    component = plugins.component("distiller", section.distill.name)
    distill_params = component.validate_params(section.distill.params)
    distiller = component.create(distill_params)
    labels = read_labels(data_dir)
    teacher_meta = read_meta(teacher_dir)
    if teacher_meta.get("labels") != labels:
        raise ConfigError(
            f"{teacher_dir}: the teacher's labels {teacher_meta.get('labels')} "
            f"differ from the data's {labels}; retrain the teacher on this data"
        )
    if section.init == "teacher-word-vectors":
        _check_word_vector_width(section, teacher_dir, plugins)
    dataset = datasets.load_from_disk(str(data_dir))
    texts, hard, sizes = _transfer_set(config, section, dataset, plugins)

    capabilities = component.capabilities_as(DistillerCapabilities)
    teachers_param = capabilities.teachers_param
    extra_teachers = list(getattr(distill_params, teachers_param)) if teachers_param else []
    teachers = [str(teacher_dir), *map(str, extra_teachers)]
    for extra in teachers[1:]:
        if read_meta(extra).get("labels") != labels:
            raise ConfigError(
                f"student.distill.params.{teachers_param}: {extra} was trained on other "
                f"labels than {labels}"
            )
    teacher_max_length = int(teacher_meta.get("train", {}).get("max_length", 128))
    scored = [
        cached_teacher_logits(
            t,
            texts,
            cache,
            max_length=teacher_max_length,
            plugins=plugins,
            teacher_sha=teacher_sha if t == str(teacher_dir) else None,
        )
        for t in teachers
    ]
    logits = torch.stack([each for each, _ in scored], dim=1)  # (N, teachers, classes)
    teacher_passes = [stats.as_dict() for _, stats in scored]
    argmax = logits[:, 0].argmax(-1).tolist()
    hard = hard + argmax[len(hard) :]

    # The teacher's weights are loaded only for a start from the teacher: the logits above
    # came from the cache or their own pass, and the checks below need only its tokenizer.
    # Loaded before the seed is set: loading draws from Python's random, and the student
    # starts from the same random state whichever init it has.
    teacher = (
        load_model_folder(teacher_dir, plugins=plugins)
        if section.init in STARTS_FROM_TEACHER
        else None
    )
    set_seed(config.seed)
    word_vectors = None
    if teacher is not None and section.init == "teacher-layers":
        from textcls.distillation.layers import student_from_teacher_layers

        model = student_from_teacher_layers(
            teacher.model, section.model.params, section.init_layers
        )
        tokenizer = teacher.tokenizer  # the copied embeddings index the teacher's vocabulary
        tokenizer_meta = _teacher_tokenizer_meta(teacher_meta, plugins)
    elif teacher is not None and section.init == "teacher-embeddings":
        from textcls.distillation.layers import copy_teacher_embeddings

        tokenizer = teacher.tokenizer  # the matrix rows are the teacher's vocabulary
        tokenizer_meta = _teacher_tokenizer_meta(teacher_meta, plugins)
        model = build_model(section.model, tokenizer, labels, plugins)
        copy_teacher_embeddings(teacher.model, model)
    else:
        tokenizer, tokenizer_ref = build_tokenizer(
            section.model, section.tokenizer, lambda: iter(texts), section.train, plugins, init_from
        )
        tokenizer_meta = tokenizer_ref.model_dump(mode="json")
        model = build_model(section.model, tokenizer, labels, plugins, init_from)
        if teacher is not None and section.init == "teacher-word-vectors":
            # the student's own words, each read by the teacher
            from textcls.distillation.word_vectors import init_from_teacher_words

            word_vectors = init_from_teacher_words(
                teacher.model, teacher.tokenizer, model, tokenizer, config.seed
            )
    in_loop = capabilities.aligned_tokens or bool(distiller_needs(distiller) - {"logits"})
    if in_loop and tokenizer.get_vocab() != _teacher_vocabulary(teacher_dir, teacher):
        raise ConfigError(
            f"student.distill: {section.distill.name} compares student and teacher token by "
            "token, so the student needs the teacher's tokenizer: set student.init: "
            "teacher-layers, or student.tokenizer: {name: hf, params: {pretrained: <the "
            "teacher's pretrained name>}}. Logit strategies (logits-kl, logits-mse, "
            "multi-teacher) work with any student tokenizer."
        )

    work_dir.mkdir(parents=True, exist_ok=True)
    transfer_dir = work_dir / "transfer"
    datasets.Dataset.from_dict(
        {"text": texts, "label": hard, "teacher_index": list(range(len(texts)))}
    ).save_to_disk(str(transfer_dir))
    logits_file = work_dir / "teacher_logits.safetensors"
    save_file({"logits": logits.contiguous()}, str(logits_file))
    meta = model_meta(
        config,
        "student",
        section,
        tokenizer_meta,
        labels,
        data_fingerprint(data_dir),
        init_from or (str(teacher_dir) if section.init == "teacher-layers" else None),
        distill={
            "distiller": section.distill.model_dump(mode="json"),
            "teachers": teachers,
            "teacher_sha256": teacher_sha,
            "transfer": {
                "train": len(dataset["train"]),
                **sizes,
                "total": len(texts),
                # one entry per teacher: texts scored now, from the cache, and the seconds
                "teacher_pass": teacher_passes,
            },
            **({"teacher_word_vectors": word_vectors} if word_vectors else {}),
        },
    )
    job = job_spec(
        meta,
        data_dir,
        out_dir,
        train_data=str(transfer_dir),
        distill={
            "distiller": section.distill.model_dump(mode="json"),
            "logits_file": str(logits_file),
            "teachers": teachers,
            "teacher_in_loop": in_loop,
        },
    )
    prepare_job(work_dir, model, tokenizer, job)


def _transfer_set(
    config: PipelineConfig, section: StudentConfig, dataset: Any, plugins: PluginHost
) -> tuple[list[str], list[int], dict[str, int]]:
    """Texts of the transfer set, hard labels for its labelled part (the train split), and
    how many rows each source gave (``unlabeled``, ``augmented``)."""
    from textcls.data.unlabeled import load_unlabeled_texts
    from textcls.distillation.augment import AugmentSettings, augmented_texts

    train = dataset["train"]
    texts, hard = list(train["text"]), list(train["label"])
    transfer = section.transfer
    unlabeled = 0
    if transfer.unlabeled is not None:
        extra = load_unlabeled_texts(
            config, transfer.unlabeled, "student.transfer.unlabeled", plugins=plugins
        ).to_pylist()
        texts += extra
        unlabeled = len(extra)
    target = int(round(transfer.multiplier * len(hard)))
    if transfer.max_size is not None:  # a cost bound: augmentation stops there
        target = min(target, max(transfer.max_size, len(texts)))
    augmented = 0
    if target > len(texts):
        if transfer.augment is None:
            raise ConfigError(
                f"student.transfer.multiplier {transfer.multiplier} asks for {target} examples "
                f"but the train split and unlabelled text give {len(texts)}; add "
                "student.transfer.augment or more unlabelled text"
            )
        a = transfer.augment
        settings = AugmentSettings(
            mask_prob=a.mask_prob,
            replace_prob=a.replace_prob,
            ngram_prob=a.ngram_prob,
            max_ngram=a.max_ngram,
            mask_token="[MASK]",
            join_prob=a.join_prob,
        )
        augmented = target - len(texts)
        texts += augmented_texts(
            texts[: len(hard)], augmented, config.seed, settings, n_classes=a.word_classes
        )
    return texts, hard, {"unlabeled": unlabeled, "augmented": augmented}


def _teacher_vocabulary(teacher_dir: Path, teacher: Any) -> dict[str, int]:
    """The teacher's vocabulary, from its loaded folder or from its tokenizer files alone."""
    if teacher is not None:
        return dict(teacher.tokenizer.get_vocab())
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(teacher_dir), trust_remote_code=False)
    return dict(tokenizer.get_vocab())


def _teacher_tokenizer_meta(teacher_meta: dict[str, Any], plugins: PluginHost) -> dict[str, Any]:
    """The teacher's tokenizer as its textcls.json records it, else its model's default."""
    from textcls.config import ComponentRef
    from textcls.training.builders import default_tokenizer

    recorded = teacher_meta.get("tokenizer")
    if recorded:
        return dict(recorded)
    model_ref = ComponentRef.model_validate(teacher_meta["model"])
    return default_tokenizer(model_ref, plugins).model_dump(mode="json")
