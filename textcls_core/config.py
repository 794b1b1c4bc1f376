"""The pipeline file: a pydantic v2 schema, YAML loading, overrides and error locations.

``load_config(path, overrides)`` reads YAML, applies ``--set dotted.key=value`` overrides,
validates the whole file, then validates every component's ``params`` against the params model
its plugin registered. Every error names the file, the line when it has one, and the dotted path,
for example ``pipeline.yaml:14: student.model.params.hidden_size: Input should be greater than 0``.
Relative paths resolve against the folder of the config file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from textcls.contracts import DataSourceCapabilities
from textcls.errors import ConfigError, PluginError
from textcls.safe_yaml import compose_yaml, decode_yaml, load_yaml, non_finite_numbers
from textcls.student_defaults import DEFAULT_MODEL, fill_student

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost


def _resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """Make a relative path absolute against the config file's folder (when one is known)."""
    if value is None:
        return None
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return str(path)


#: A filesystem path; relative values resolve against the config file's folder.
ConfigPath = Annotated[str, AfterValidator(_resolve_path)]


class _Strict(BaseModel):
    """Base for config sections: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: The tokenizer of a role whose pipeline names none and whose model declares no default.
DEFAULT_TOKENIZER = "word"


class ComponentRef(_Strict):
    """A reference to a plugin component: ``{name: ..., params: {...}}`` or just ``name``."""

    kind: ClassVar[str] = ""
    name: str = Field(
        min_length=1,
        description="Registered component name; PLUGIN:NAME picks one provider when two "
        "plugins register the same name",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="The component's params")

    @model_validator(mode="before")
    @classmethod
    def _name_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class DataSourceRef(ComponentRef):
    kind: ClassVar[str] = "data_source"
    name: str = Field("csv", min_length=1, description="Registered data source name")


class TokenizerRef(ComponentRef):
    kind: ClassVar[str] = "tokenizer"


class ModelRef(ComponentRef):
    kind: ClassVar[str] = "model"


class DistillerRef(ComponentRef):
    kind: ClassVar[str] = "distiller"


class TrackerRef(ComponentRef):
    """An experiment tracker for the run: ``{name: mlflow, params: {tracking_uri: ...}}``."""

    kind: ClassVar[str] = "tracker"


SplitFiles = str | list[str]


class CleaningConfig(_Strict):
    """Text cleaning applied at ingest, each step switchable."""

    unicode_normalization: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = "NFKC"
    collapse_whitespace: bool = True
    unescape_html: bool = True
    lowercase: bool = False
    min_chars: int = Field(1, ge=0, description="Drop rows whose cleaned text is shorter")
    max_chars: int | None = Field(None, gt=0, description="Drop rows whose text is longer")


class DataConfig(_Strict):
    """Where the labelled data comes from and how ingest treats it."""

    source: DataSourceRef = Field(default_factory=lambda: DataSourceRef(name="csv"))
    train: SplitFiles = Field(description="File, glob or list of files (or an id for hub sources)")
    validation: SplitFiles | None = None
    test: SplitFiles | None = None
    text_column: str | list[str] = "text"
    text_separator: str = " "
    label_column: str = "label"
    label_names: list[str] | None = Field(None, description="Names for integer labels, in id order")
    max_train_examples: int | None = Field(None, gt=0)
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    test_fraction: float = Field(0.1, gt=0, lt=1)
    cleaning: CleaningConfig = Field(default_factory=CleaningConfig)
    bad_rows: Literal["error", "skip"] = Field(
        "error", description="Malformed or empty rows: stop with an error, or skip and report"
    )
    leakage: Literal["warn", "drop", "error"] = Field(
        "warn", description="Texts shared by train and validation/test"
    )
    drop_duplicates: bool = Field(True, description="Drop exact duplicate rows within a split")
    long_text_chars: int = Field(
        5000, gt=0, description="Texts longer than this are counted in the data report"
    )
    label_issues: Literal["report", "drop", "off"] = Field(
        "report",
        description="Likely mislabeled train rows (cleanlab): list them, drop them, or skip",
    )
    label_issues_model: Literal["tfidf", "encoder", "teacher"] = Field(
        "tfidf",
        description="Out-of-fold probabilities for the label-issue check: tfidf (TF-IDF + "
        "logistic regression, seconds), encoder (also the hf teacher's frozen pretrained "
        "encoder: more precise, ~4-12 s per 1,000 rows on 2 CPU cores) or teacher (the "
        "pipeline's teacher fine-tuned once per fold, any model kind: about 4 teacher "
        "trainings)",
    )
    label_issues_filter: Literal[
        "auto",
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "confident_learning",
        "low_self_confidence",
        "low_normalized_margin",
        "predicted_neq_given",
    ] = Field(
        "auto",
        description="cleanlab's filter_by rule. auto: prune_by_noise_rate (cleanlab's default) "
        "with tfidf and encoder, low_self_confidence with teacher. confident_learning and the "
        "two low_* rules flag fewer rows, more of them truly mislabeled; predicted_neq_given "
        "flags every disagreement",
    )

    @field_validator("label_issues", mode="before")
    @classmethod
    def _unquoted_off(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `off` as false; the user meant the option "off"
        if value is False:
            return "off"
        if value is True:  # `on`, `yes`, `true`: YAML made a yes/no of it; which one is meant?
            raise ValueError(
                "YAML read this as true (unquoted on/yes/true); write report (list likely "
                "mislabeled rows) or drop (remove them before training)"
            )
        return value


class TrainConfig(_Strict):
    """Training hyper-parameters shared by pretraining, fine-tuning and distillation."""

    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, gt=0, description="Overrides epochs when set")
    batch_size: int = Field(32, gt=0)
    eval_batch_size: int | None = Field(None, gt=0, description="Default: 2 x batch_size")
    learning_rate: float = Field(5e-5, gt=0)
    lr_scheduler: Literal[
        "linear", "cosine", "constant", "constant_with_warmup", "polynomial", "inverse_sqrt"
    ] = "linear"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    gradient_accumulation_steps: int = Field(1, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    max_length: int = Field(128, gt=0, description="Tokens; longer texts are truncated")
    eval_steps: int | None = Field(
        None, gt=0, description="Evaluate and checkpoint every N steps (default: every epoch)"
    )
    early_stopping_patience: int | None = Field(
        None, gt=0, description="Stop after N evaluations without improvement"
    )
    metric_for_best_model: Literal["accuracy", "macro_f1", "loss"] = "accuracy"
    restarts: int = Field(
        1,
        ge=1,
        le=20,
        description="Train N times (Trainer seeds seed, seed+1, ...) from the same initial "
        "weights and keep the run best on validation by metric_for_best_model (at most 20)",
    )
    class_weights: bool = Field(False, description="Weight the loss by inverse class frequency")
    group_by_length: bool = Field(
        False, description="Batch texts of similar length: much faster, may cost accuracy"
    )
    processes: int = Field(1, gt=0, description="Processes to launch (torchrun) for training")
    threads: int | None = Field(None, gt=0, description="torch threads per process")
    precision: Literal["fp32", "fp16", "bf16"] = Field(
        "fp32",
        description="fp16 or bf16 mixed precision (fp16 needs a CUDA GPU; bf16 runs on CPUs too)",
    )


class PretrainConfig(_Strict):
    """Optional unsupervised pretraining."""

    objective: Literal["mlm", "clm", "word2vec", "glove"]
    target: Literal["teacher", "student"] = "student"
    corpus: SplitFiles | None = Field(None, description="Unlabelled text; default: train texts")
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _one_run(self) -> PretrainConfig:
        if self.train.restarts != 1:
            raise ValueError(
                "pretrain.train.restarts: pretraining runs once (restarts choose a classifier "
                "by its validation metric_for_best_model); remove the key"
            )
        return self


class TeacherConfig(_Strict):
    model: ModelRef
    tokenizer: TokenizerRef | None = None
    train: TrainConfig = Field(default_factory=TrainConfig)


class AugmentConfig(_Strict):
    """Tang et al. (2019) augmentation of the transfer set (``distillation/augment.py``)."""

    mask_prob: float = Field(0.1, ge=0, le=1, description="Chance each word becomes [MASK]")
    replace_prob: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Chance each word becomes another word of its class (Tang et al.'s "
        "POS-guided replacement, with classes induced from the words' contexts)",
    )
    word_classes: int = Field(
        50, ge=2, description="Word classes induced from the training texts for replacement"
    )
    ngram_prob: float = Field(0.25, ge=0, le=1, description="Chance to keep only an n-gram")
    max_ngram: int = Field(5, gt=0)
    join_prob: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance a synthetic text is followed by one made from a random source text "
        "(longer texts for the teacher to score)",
    )

    @model_validator(mode="after")
    def _one_draw_per_word(self) -> AugmentConfig:
        if self.mask_prob + self.replace_prob > 1:
            raise ValueError(
                f"mask_prob {self.mask_prob} + replace_prob {self.replace_prob} exceeds 1: one "
                "draw per word decides mask, replace or keep; lower one of them"
            )
        return self


class TransferConfig(_Strict):
    """What the student learns from: the train split, unlabelled text, augmented copies."""

    unlabeled: SplitFiles | None = Field(None, description="Extra unlabelled text files")
    augment: AugmentConfig | None = None
    multiplier: float = Field(
        1.0, ge=1.0, description="Transfer-set size as a multiple of the train split"
    )
    max_size: int | None = Field(
        None,
        ge=1,
        description="Most texts the multiplier may grow the transfer set to (augmentation "
        "stops there; the train split and unlabelled rows always stay whole). None: no cap",
    )


#: The ``student.init`` values that start the student from the teacher: they need a teacher
#: section and a distiller, and the distillation stage loads the teacher's weights for them.
STARTS_FROM_TEACHER = ("teacher-layers", "teacher-embeddings", "teacher-word-vectors")


class StudentConfig(_Strict):
    """The student; what it leaves out, ``student_defaults`` fills in (``student: {}`` works)."""

    model: ModelRef = Field(
        default_factory=lambda: ModelRef.model_validate(DEFAULT_MODEL),
        description="Default: the default student (textcls.student_defaults)",
    )
    tokenizer: TokenizerRef | None = None
    distill: DistillerRef | None = Field(
        None, description="None: the student trains on hard labels only"
    )
    transfer: TransferConfig = Field(default_factory=TransferConfig)
    init: Literal[
        "scratch", "pretrain", "teacher-layers", "teacher-embeddings", "teacher-word-vectors"
    ] = Field(
        "scratch",
        description="teacher-layers: copy some of the teacher's layers (same family); "
        "teacher-embeddings: start the embedding matrix from the teacher's (its tokenizer); "
        "teacher-word-vectors: each word of the student's own vocabulary read alone by the "
        "teacher, reduced to the student's width (Model2Vec style)",
    )
    init_layers: list[int] | None = Field(
        None, description="Teacher layers to copy with init: teacher-layers (default: spread)"
    )
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_student(cls, value: Any) -> Any:
        # the teacher-dependent default (distill) is the pipeline's to add: see PipelineConfig
        return fill_student(value, has_teacher=False)


def _student_only() -> list[Literal["teacher", "student"]]:
    return ["student"]


class QuantizeStep(ComponentRef):
    """One quantization recipe, applied to each of ``targets``."""

    kind: ClassVar[str] = "quantizer"
    targets: list[Literal["teacher", "student"]] = Field(default_factory=_student_only)
    max_accuracy_drop: float = Field(1.0, ge=0, description="Points of accuracy the gate allows")


class EvaluateConfig(_Strict):
    """Scoring: choices read validation; ``split`` is only reported (see docs/evaluation.md)."""

    split: Literal["test", "validation"] = Field(
        "test", description="The split the report scores; choices always read validation"
    )
    calibration: Literal["temperature", "none"] = Field(
        "temperature", description="Fit a temperature per variant on validation logits"
    )
    baselines: list[str] = Field(default_factory=list, description="e.g. [tfidf-logreg]")
    measure_cost: bool = Field(True, description="Latency, throughput and memory per variant")
    explanations: bool = Field(
        True,
        description="Explain each variant's most confident mistakes and the teacher/student "
        "disagreements in the report (integrated gradients: about half a second per text "
        "for a MiniLM teacher on a 2-core CPU)",
    )


class RegistryConfig(_Strict):
    """Where the run's chosen model is registered and when it becomes the champion."""

    path: ConfigPath = Field(
        "registry", validate_default=True, description="Registry folder; holds <name>/"
    )
    metric: Literal["accuracy", "macro_f1"] = Field(
        "accuracy", description="Compared on the champion's test set"
    )
    min_improvement: float = Field(
        0.0, ge=0, le=1, description="How much the challenger must beat the champion by"
    )
    variant: str | None = Field(
        None, description="Variant to register, e.g. student-ort-dynamic-int8; default: best"
    )
    lock_timeout_s: float = Field(600.0, gt=0, description="How long to wait for another run")


class OrchestrationConfig(_Strict):
    """How the Prefect flow runs the stages (ignored when a stage is called directly)."""

    retries: int = Field(1, ge=0, description="Retries of stages that do I/O (ingest, quantize)")
    retry_delay_s: float = Field(5.0, ge=0)
    task_runner: Literal["thread", "dask"] = Field(
        "thread", description="How sweeps fan out: a thread pool, or Dask (needs prefect-dask)"
    )
    max_parallel: int = Field(2, gt=0, description="Sweep variants run at once (thread runner)")
    dask_address: str | None = Field(None, description="Existing Dask scheduler; default: local")
    dask_workers: int = Field(2, gt=0, description="Workers of the local Dask cluster")


class PipelineConfig(_Strict):
    """A whole pipeline file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    seed: int = 13
    output: ConfigPath = Field(
        "runs", validate_default=True, description="Folder that holds <name>/<run_id> run folders"
    )
    data: DataConfig
    pretrain: PretrainConfig | None = None
    teacher: TeacherConfig | None = None
    student: StudentConfig | None = None
    quantize: list[QuantizeStep] = Field(default_factory=list)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    registry: RegistryConfig | None = None
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    tracking: list[TrackerRef] = Field(
        default_factory=list,
        description="Experiment trackers that record the run (none by default), e.g. "
        "[{name: mlflow, params: {tracking_uri: http://127.0.0.1:5000}}]",
    )

    @field_validator("tracking")
    @classmethod
    def _each_tracker_once(cls, refs: list[TrackerRef]) -> list[TrackerRef]:
        # the same tracker twice would record every run, and register every version, twice
        for i, ref in enumerate(refs):
            for j, earlier in enumerate(refs[:i]):
                if (ref.name, ref.params) == (earlier.name, earlier.params):
                    raise ValueError(
                        f"tracking[{i}] repeats tracking[{j}] ({ref.name!r} with the same "
                        "params), which would record every run twice; remove one"
                    )
        return refs

    @model_validator(mode="before")
    @classmethod
    def _default_student(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("student"), dict):
            has_teacher = value.get("teacher") is not None
            value = {**value, "student": fill_student(value["student"], has_teacher=has_teacher)}
        return value

    @model_validator(mode="after")
    def _sections_agree(self) -> PipelineConfig:
        if self.pretrain is not None and getattr(self, self.pretrain.target) is None:
            raise ValueError(
                f"pretrain.target is {self.pretrain.target!r} but there is no "
                f"{self.pretrain.target} section to start from it"
            )
        student = self.student
        if student is not None and student.init in STARTS_FROM_TEACHER:
            if self.teacher is None:
                raise ValueError(
                    f"student.init is {student.init!r} but there is no teacher section"
                )
            if student.distill is None:
                raise ValueError(
                    f"student.init {student.init!r} starts the student from the teacher, "
                    "which the distillation stage does: set student.distill (e.g. logits-kl)"
                )
        for step in self.quantize:
            for target in step.targets:
                if getattr(self, target) is None:
                    raise ValueError(
                        f"quantize: step {step.name!r} targets {target!r}, but the pipeline "
                        f"has no {target} section; remove {target!r} from its targets"
                    )
        if (
            self.student is not None
            and self.student.init == "pretrain"
            and (self.pretrain is None or self.pretrain.target != "student")
        ):
            raise ValueError(
                "student.init is 'pretrain' but no pretrain section targets the student; "
                "add pretrain: {objective: ..., target: student} or set student.init: scratch"
            )
        return self

    def model_variants(self) -> list[str]:
        """Names of the models a run evaluates: teacher, student, ``<target>-<quantizer>``."""
        names = [role for role in ("teacher", "student") if getattr(self, role) is not None]
        names += [
            f"{target}-{step.name}"
            for step in self.quantize
            for target in step.targets
            if getattr(self, target) is not None
        ]
        return names

    _source: str | None = PrivateAttr(None)
    _base_dir: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file this config was loaded from, if any."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """The folder relative paths resolve against."""
        return Path(self._base_dir) if self._base_dir else Path.cwd()


# --------------------------------------------------------------------------------------------
# Loading


def load_config(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    plugins: PluginHost | None = None,
    validate_plugins: bool = True,
) -> PipelineConfig:
    """Load, override and validate a pipeline file; raise ConfigError saying where and why."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: pipeline file not found. Pass the path of a YAML pipeline file "
            "(see examples/demo/pipeline.yaml)."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the pipeline file: {exc.strerror}") from None
    text = decode_yaml(data, str(path))
    raw = parse_yaml(text, str(path))
    return config_from_dict(
        raw,
        source=str(path),
        base_dir=path.resolve().parent,
        overrides=overrides,
        lines=yaml_line_index(text),
        plugins=plugins,
        validate_plugins=validate_plugins,
    )


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse YAML text that must hold one mapping (no duplicate keys, bounded aliases)."""
    raw = load_yaml(text, source)
    if raw is None:
        raise ConfigError(f"{source}: the pipeline file is empty; it needs at least name and data")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the pipeline file must be a mapping of sections (name, data, ...), "
            f"not a {type(raw).__name__}"
        )
    return raw


def config_from_dict(
    raw: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
    lines: Mapping[tuple[Any, ...], int] | None = None,
    plugins: PluginHost | None = None,
    validate_plugins: bool = True,
) -> PipelineConfig:
    """Validate a config mapping (already parsed) the same way ``load_config`` does."""
    data = copy.deepcopy(dict(raw))
    overridden: set[tuple[Any, ...]] = set()
    for override in overrides:
        overridden.add(apply_override(data, override))
    locate = _Locator(source, lines or {}, overridden)
    infinite = [locate(loc) for loc in non_finite_numbers(data)]
    if infinite:
        raise ConfigError(
            "\n".join(f"{where}: must be a finite number, not inf or nan" for where in infinite)
        )
    try:
        config = PipelineConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, locate)) from None
    wanted = config.registry.variant if config.registry is not None else None
    if wanted is not None and wanted not in config.model_variants():
        raise ConfigError(
            f"{locate(('registry', 'variant'))}: {wanted!r} is not a model variant of this "
            f"pipeline; its variants are {', '.join(config.model_variants()) or 'none'}"
        )
    _check_label_issues_model(config, locate)
    config._source = source
    config._base_dir = str(base_dir) if base_dir is not None else None
    if validate_plugins:
        if plugins is None:
            from textcls.plugin_manager import get_plugins

            plugins = get_plugins()
        validate_components(config, plugins, locate)
    return config


def label_issue_encoder(config: PipelineConfig) -> str | None:
    """The pretrained checkpoint the label-issue check embeds texts with, or None (TF-IDF only).

    It is the ``hf`` teacher's ``pretrained`` param (a hub name or folder, resolved offline the
    way fine-tuning resolves it); config validation has checked that there is one. With
    ``teacher`` it is that param when the teacher has one (else None: TF-IDF only beside it).
    """
    data = config.data
    if data.label_issues == "off" or data.label_issues_model == "tfidf":
        return None
    assert config.teacher is not None  # _check_label_issues_model
    pretrained = config.teacher.model.params.get("pretrained")
    if data.label_issues_model == "teacher":
        # the teacher's fold models are averaged with the encoder's too when it has one
        hf = config.teacher.model.name.rsplit(":", 1)[-1] == "hf"
        return pretrained if hf and isinstance(pretrained, str) else None
    return str(pretrained)


def label_issue_teacher(config: PipelineConfig) -> dict[str, Any] | None:
    """The teacher section the label-issue check fine-tunes per fold, or None (not asked).

    With ``data.label_issues_model: teacher`` this section decides which rows are flagged
    (and dropped), so the ingest step's cache key includes it.
    """
    data = config.data
    if data.label_issues == "off" or data.label_issues_model != "teacher":
        return None
    assert config.teacher is not None  # _check_label_issues_model
    return config.teacher.model_dump(mode="json")


def _check_label_issues_model(config: PipelineConfig, locate: _Locator) -> None:
    """``label_issues_model: encoder`` needs an ``hf`` teacher with a ``pretrained`` param;
    ``teacher`` needs a teacher section (any model)."""
    if config.data.label_issues == "off" or config.data.label_issues_model == "tfidf":
        return
    teacher = config.teacher
    if config.data.label_issues_model == "teacher":
        if teacher is None:
            raise ConfigError(
                f"{locate(('data', 'label_issues_model'))}: 'teacher' fine-tunes the "
                "pipeline's teacher once per fold, but there is no teacher section. Add a "
                "teacher (any model, e.g. {model: {name: hf, params: {pretrained: "
                "sentence-transformers/all-MiniLM-L6-v2}}}), or set "
                "data.label_issues_model: tfidf"
            )
        return
    model = teacher.model if teacher is not None else None
    if (
        model is None
        or model.name.rsplit(":", 1)[-1] != "hf"
        or not isinstance(model.params.get("pretrained"), str)
    ):
        if model is None:
            found = "there is no teacher section"
        elif model.name.rsplit(":", 1)[-1] == "hf":
            found = "the hf teacher has no params.pretrained (a hub name or a local folder)"
        else:
            found = f"the teacher is {model.name!r}, not a pretrained hf model"
        raise ConfigError(
            f"{locate(('data', 'label_issues_model'))}: 'encoder' embeds the texts with the "
            f"teacher's pretrained encoder, but {found}. Add a teacher with model "
            "{name: hf, params: {pretrained: ...}} (e.g. sentence-transformers/all-MiniLM-L6-v2),"
            " or set data.label_issues_model: tfidf"
        )


def apply_override(data: dict[str, Any], override: str) -> tuple[Any, ...]:
    """Apply one ``dotted.key=value`` override in place; the value is parsed as YAML."""
    key, sep, value_text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set {override!r}: expected dotted.key=value, e.g. --set teacher.train.epochs=2"
        )
    try:
        value = load_yaml(value_text, "--set") if value_text.strip() else ""
    except ConfigError:
        value = value_text
    parts: list[Any] = key.strip().split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            index = _list_index(node, part, override)
            parts[i] = index
            node = node[index]
            continue
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, (dict, list)):
            raise ConfigError(
                f"--set {override!r}: {'.'.join(map(str, parts[: i + 1]))} is a "
                f"{type(node).__name__}, not a section"
            )
    last = parts[-1]
    if isinstance(node, list):
        index = _list_index(node, last, override)
        parts[-1] = index
        node[index] = value
    else:
        node[last] = value
    return tuple(parts)


def _list_index(node: list[Any], part: str, override: str) -> int:
    try:
        index = int(part)
        node[index]
    except (ValueError, IndexError):
        raise ConfigError(
            f"--set {override!r}: {part!r} is not an index of a list of {len(node)} items"
        ) from None
    return index


def validate_components(
    config: PipelineConfig, plugins: PluginHost, locate: _Locator | None = None
) -> None:
    """Check every component reference against the loaded plugins and validate its params.

    The validated params (with defaults filled in) replace the raw ones, so the resolved config
    recorded in a run's manifest is complete. Data sources that read local files get their split
    paths resolved against the config file's folder.
    """
    locate = locate or _Locator(config.source or "<config>", {}, set())
    problems: list[str] = []
    for loc, ref in iter_component_refs(config):
        try:
            component = plugins.component(ref.kind, ref.name)
        except PluginError as exc:  # unknown, or two plugins clash on the name
            problems.append(f"{locate(loc + ('name',))}: {exc}")
            continue
        try:
            validated = component.validate_params(ref.params)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(
                    f"{locate(loc + ('params',) + tuple(error['loc']))}: {error['msg']}"
                )
            continue
        ref.params = validated.model_dump(mode="json")
        local = ref.kind == "data_source" and component.capabilities_as(DataSourceCapabilities)
        if local and local.local_files:
            _resolve_split_paths(config)
    if problems:
        raise ConfigError("\n".join(problems))


def _resolve_split_paths(config: PipelineConfig) -> None:
    base = config.base_dir
    data = config.data

    def resolve(value: SplitFiles | None) -> SplitFiles | None:
        if value is None:
            return None
        if isinstance(value, list):
            return [str(base / Path(v).expanduser()) for v in value]
        return str(base / Path(value).expanduser())

    data.train = resolve(data.train)  # type: ignore[assignment]
    data.validation = resolve(data.validation)
    data.test = resolve(data.test)
    if config.pretrain is not None:
        config.pretrain.corpus = resolve(config.pretrain.corpus)
    if config.student is not None:
        config.student.transfer.unlabeled = resolve(config.student.transfer.unlabeled)


def iter_component_refs(
    model: BaseModel, loc: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], ComponentRef]]:
    """Yield ``(location, ref)`` for every component reference in a config tree."""
    if isinstance(model, ComponentRef) and model.kind:
        yield loc, model
    for field_name in type(model).model_fields:
        value = getattr(model, field_name)
        if isinstance(value, BaseModel):
            yield from iter_component_refs(value, loc + (field_name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from iter_component_refs(item, loc + (field_name, i))


# --------------------------------------------------------------------------------------------
# Error locations


def yaml_line_index(text: str) -> dict[tuple[Any, ...], int]:
    """Map each dotted location in a YAML document to its 1-based line number."""
    index: dict[tuple[Any, ...], int] = {}
    try:
        root = compose_yaml(text)
    except (yaml.YAMLError, RecursionError):
        return index

    def walk(node: Any, loc: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = getattr(key_node, "value", None)
                child = loc + (key,)
                index[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                index[loc + (i,)] = item.start_mark.line + 1
                walk(item, loc + (i,))

    if root is not None:
        walk(root, ())
    return index


class _Locator:
    """Turns a location tuple into ``file:line: dotted.path``."""

    def __init__(
        self,
        source: str,
        lines: Mapping[tuple[Any, ...], int],
        overridden: Iterable[tuple[Any, ...]],
    ) -> None:
        self.source = source
        self.lines = lines
        self.overridden = {tuple(str(p) for p in o) for o in overridden}

    def __call__(self, loc: Sequence[Any]) -> str:
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        for end in range(len(loc), -1, -1):
            prefix = tuple(str(p) for p in loc[:end])
            if prefix in self.overridden:
                return f"{self.source} (--set {'.'.join(prefix)}): {dotted}"
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return f"{self.source}:{line}: {dotted}"
        return f"{self.source}: {dotted}"


def _format_validation_error(exc: ValidationError, locate: _Locator) -> str:
    messages = []
    for error in exc.errors():
        loc = _clean_loc(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field; check its spelling against `textcls config schema`"
        messages.append(f"{locate(loc)}: {message}")
    return "\n".join(messages)


def _clean_loc(loc: Sequence[Any]) -> tuple[Any, ...]:
    # pydantic adds union-member tags ("str", "list[str]", "function-before[...]") to locations.
    cleaned = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"}):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pipeline file, for editors."""
    schema = PipelineConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "textcls pipeline"
    return schema
