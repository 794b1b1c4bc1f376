"""The typed plugin contract: one contract per component kind, checked when a plugin registers.

A plugin registers components through the ``register`` callback its registration hook receives
(:class:`Register`). Each component kind has a :class:`ComponentContract` here that says

- which hook fills it and which capabilities class describes it (capabilities are declared,
  typed fields, validated at registration: a typo is refused, never silently ignored);
- what its factory is called with (``factory(params)``, plus ``context=`` for tokenizers and
  models when the factory declares ``context``);
- what the factory must return, checked when a component is created.

A component that does not fit is refused with a :class:`ContractError` naming the plugin, the
component and what is missing; the plugin manager then disables that plugin and loads the others.

The host calls every plugin callable (distiller ``loss``, lifecycle listeners, factories) with
only the arguments it declares (:func:`call_declared`), as pluggy does for hooks, so the
documented minimum signature is all a plugin must accept.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from textcls.errors import PluginError
from textcls.plugin_api import ModelContext, TokenizerContext
from textcls.tracking import TRACKER_METHODS


class ContractError(PluginError):
    """A plugin's component does not fit its kind's contract; the message says what is missing."""


class NoParams(BaseModel):
    """Params model for components that take no parameters."""

    model_config = ConfigDict(extra="forbid")


# -- capabilities ----------------------------------------------------------------------------
class Capabilities(BaseModel):
    """Base of the per-kind capability declarations: typed, frozen, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class DataSourceCapabilities(Capabilities):
    """What a data source can do."""

    local_files: bool = Field(
        True,
        description="Reads local files named in the pipeline file, so textcls can fingerprint "
        "and watch them; False for remote sources such as hub ids",
    )


class TokenizerCapabilities(Capabilities):
    """What a tokenizer is."""

    word_level: bool = Field(
        False,
        description="One token per word: word2vec pretraining learns one vector per token",
    )


LMObjective = Literal["mlm", "clm"]


class ModelCapabilities(Capabilities):
    """What a model architecture can do.

    ``architecture`` is the ``PreTrainedModel`` subclass (or ``"module:Class"``, imported on
    first use) that textcls registers with the transformers Auto classes, so a saved model
    folder loads by path alone. ``language_model`` is the head used by the pretraining stage:
    ``language_model(model, objective)`` wraps the classifier the factory built and returns a
    ``torch.nn.Module`` whose ``forward(input_ids, attention_mask=None, labels=None)`` returns
    an output with ``loss`` (labels as transformers' ``DataCollatorForLanguageModeling`` makes
    them); it trains the classifier's own weights, and the stage saves the classifier.
    """

    architecture: type | str | None = Field(
        None, description="PreTrainedModel subclass, or 'module:Class' imported on first use"
    )
    default_tokenizer: str | None = Field(
        None,
        description="Tokenizer used when the pipeline names none (None: the config default)",
    )
    language_model: Callable[[Any, str], Any] | None = Field(
        None, description="language_model(model, objective) -> module with a loss"
    )
    lm_objectives: frozenset[LMObjective] = Field(
        frozenset(), description="Pretraining objectives the language_model head supports"
    )
    word_vectors: bool = Field(
        False,
        description="init_from may be a folder of word vectors (embeddings.safetensors); the "
        "params model has an embedding_dim",
    )


class DistillerCapabilities(Capabilities):
    """What a distillation strategy needs."""

    aligned_tokens: bool = Field(
        False,
        description="Compares student and teacher token by token, so both need one tokenizer",
    )
    teachers_param: str | None = Field(
        None,
        description="Name of the params field listing extra teacher model folders "
        "(multi-teacher strategies); their logits are cached beside the pipeline teacher's",
    )


class QuantizerCapabilities(Capabilities):
    """What a quantizer declares (nothing yet: every quantizer reads fp32 ONNX)."""


class TrackerCapabilities(Capabilities):
    """What an experiment tracker records."""

    registry_mirror: bool = Field(
        False,
        description="Mirrors registry events: each registered version becomes a model "
        "version in the tracker, and promotion/rollback move its champion alias",
    )


ExplainableKind = Literal["pytorch", "onnx"]


class ExplainerCapabilities(Capabilities):
    """Which model folders an attribution method can explain."""

    model_kinds: frozenset[ExplainableKind] = Field(
        frozenset({"pytorch", "onnx"}),
        description="Model folders it explains: 'pytorch' (model.safetensors; gradients "
        "available) and/or 'onnx' (model.onnx, fp32 or quantized; predictions only)",
    )


# -- products: what factories return -----------------------------------------------------------
# A data source returns a ``textcls.DataSource`` (``load(request: SplitRequest) -> LoadedSplit``);
# a tokenizer a ``PreTrainedTokenizerFast``; a model a ``PreTrainedModel``.
class Distiller(Protocol):
    """A distillation strategy: a loss over student and teacher outputs.

    Only ``loss(student, teacher, labels)`` is required. It may also declare
    ``attention_mask`` (B, T) and ``progress`` (0.0 at the first step, 1.0 at the last); it
    gets only what it declares. ``needs`` (default ``{"logits"}``) names the teacher outputs the
    loss reads (``"logits"``, ``"hidden_states"``, ``"attentions"``); strategies that need only
    logits get cached teacher logits and never run the teacher inside the training loop.
    """

    def loss(self, student: Any, teacher: Any, labels: Any) -> Any: ...


class Quantizer(Protocol):
    """A quantizer: ``precision`` and ``apply(source_dir, out_dir, calibration_texts, tokenizer)``.

    ``apply`` reads the fp32 ``source_dir/model.onnx`` and writes ``out_dir/model.onnx``.
    """

    precision: str

    def apply(self, source_dir: Any, out_dir: Any, calibration_texts: Any, tokenizer: Any) -> Any:
        """Write the quantized model into ``out_dir``."""


class Explainer(Protocol):
    """An attribution method: ``explain(subject, texts, targets)``.

    ``subject`` is a ``textcls.ExplainSubject`` (the model folder, loaded once); ``targets``
    holds one class index per text. It returns one ``textcls.Attribution`` (or a plain
    sequence of floats) per text, with one score per word of ``subject.words(text)``.
    """

    def explain(self, subject: Any, texts: Any, targets: Any) -> Any: ...


class Resolver(Protocol):
    """A pretrained-model resolver: a plugin implementing ``textcls_resolve_pretrained``.

    It returns a local folder (``str`` or ``os.PathLike``) for a model name, or None to let the
    next resolver try; anything else is refused naming the plugin (:func:`check_resolved`).
    """

    def textcls_resolve_pretrained(self, name: str) -> str | None: ...


class LifecycleListener(Protocol):
    """A lifecycle listener implements any of ``textcls_stage_started/finished/failed``, each
    declaring any subset of the hook's arguments (``stage``, ``run_dir`` and ``config`` /
    ``artifact`` / ``error``); it gets only those. One that raises is logged and skipped."""


TEACHER_OUTPUTS = frozenset({"logits", "hidden_states", "attentions"})


class Register(Protocol):
    """The typed ``register`` callback a registration hook receives; call it once per component.

    ``params`` is a pydantic model that validates the component's ``params`` in a pipeline
    file; ``description`` (default: the factory docstring's first line) is what
    ``textcls plugins list/show`` print; ``capabilities`` is the kind's capabilities class.
    """

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        params: type[BaseModel] = NoParams,
        description: str = "",
        capabilities: Capabilities | Mapping[str, Any] | None = None,
    ) -> None: ...


# -- the contracts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ComponentContract:
    """What one component kind must provide."""

    kind: str
    hook: str
    capabilities: type[Capabilities]
    #: keyword context the factory may declare (``context``), or None
    context: type | None
    #: attributes a product (and a factory that is a class) must have
    required: tuple[str, ...]
    #: one line for error messages: what the factory returns
    returns: str


CONTRACTS: dict[str, ComponentContract] = {
    contract.kind: contract
    for contract in (
        ComponentContract(
            "data_source",
            "textcls_register_data_sources",
            DataSourceCapabilities,
            None,
            ("load",),
            "an object with load(request) -> LoadedSplit",
        ),
        ComponentContract(
            "tokenizer",
            "textcls_register_tokenizers",
            TokenizerCapabilities,
            TokenizerContext,
            (),
            "a transformers PreTrainedTokenizerFast",
        ),
        ComponentContract(
            "model",
            "textcls_register_models",
            ModelCapabilities,
            ModelContext,
            (),
            "a transformers PreTrainedModel whose forward returns logits",
        ),
        ComponentContract(
            "distiller",
            "textcls_register_distillers",
            DistillerCapabilities,
            None,
            ("loss",),
            "an object with loss(student, teacher, labels)",
        ),
        ComponentContract(
            "quantizer",
            "textcls_register_quantizers",
            QuantizerCapabilities,
            None,
            ("apply",),
            "an object with precision and apply(source_dir, out_dir, calibration_texts, tokenizer)",
        ),
        ComponentContract(
            "tracker",
            "textcls_register_trackers",
            TrackerCapabilities,
            None,
            TRACKER_METHODS,
            "a textcls.Tracker (subclass it: every event has a no-op default)",
        ),
        ComponentContract(
            "explainer",
            "textcls_register_explainers",
            ExplainerCapabilities,
            None,
            ("explain",),
            "an object with explain(subject, texts, targets) -> one Attribution per text",
        ),
    )
}
#: Component kinds, and the registration hook that fills each.
KIND_HOOKS: dict[str, str] = {kind: c.hook for kind, c in CONTRACTS.items()}
KINDS = tuple(CONTRACTS)
#: Hooks that are not registration hooks, and the contract each implementation follows.
RESOLVER_HOOK = "textcls_resolve_pretrained"
LIFECYCLE_HOOKS = ("textcls_stage_started", "textcls_stage_finished", "textcls_stage_failed")


def _where(plugin: str, kind: str, name: str) -> str:
    return f"plugin {plugin!r}: {kind.replace('_', ' ')} {name!r}"


@dataclass(frozen=True)
class CheckedComponent:
    """A registration that passed its contract: what the registry stores."""

    factory: Callable[..., Any]
    params: type[BaseModel]
    description: str
    capabilities: Capabilities


def check_registration(
    kind: str,
    plugin: str,
    name: Any,
    factory: Any,
    params: Any,
    description: Any,
    capabilities: Any,
) -> CheckedComponent:
    """Check one ``register(...)`` call against its kind's contract; raise ContractError."""
    contract = CONTRACTS[kind]
    where = _where(plugin, kind, str(name))
    if not isinstance(name, str) or not name.strip() or ":" in name:
        raise ContractError(
            f"plugin {plugin!r}: {kind} name {name!r} must be a non-empty string without ':' "
            "(':' separates a plugin name from a component name in pipeline files)"
        )
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise ContractError(
            f"{where} has params={params!r}; params must be a pydantic BaseModel subclass"
        )
    caps = _capabilities(contract, where, capabilities)
    if not isinstance(description, str):
        raise ContractError(f"{where}: description must be a string")
    if not description and (inspect.isroutine(factory) or inspect.isclass(factory)):
        doc = (factory.__doc__ or "").strip()  # a partial's or an instance's doc is its type's
        description = doc.splitlines()[0] if doc else ""
    if kind == "model":
        factory, caps = _model_factory(where, factory, caps)
    if not callable(factory):
        raise ContractError(
            f"{where}: factory {factory!r} is not callable; it must return {contract.returns}"
        )
    _check_factory_signature(where, factory)
    if isinstance(factory, type):
        missing = [a for a in contract.required if not callable(getattr(factory, a, None))]
        if missing:
            raise ContractError(
                f"{where}: factory class {factory.__name__} has no {', '.join(missing)}(); "
                f"a {kind.replace('_', ' ')} must be {contract.returns}"
            )
    _check_capabilities(where, kind, params, caps)
    return CheckedComponent(factory, params, description, caps)


def _capabilities(contract: ComponentContract, where: str, given: Any) -> Capabilities:
    expected = contract.capabilities
    if given is None:
        return expected()
    if isinstance(given, Mapping):
        try:
            return expected.model_validate(dict(given))
        except ValidationError as exc:
            raise ContractError(f"{where}: invalid capabilities: {_first_error(exc)}") from None
    if type(given) is not expected:
        raise ContractError(
            f"{where}: capabilities must be {expected.__name__}, got {type(given).__name__}"
        )
    return given  # type: ignore[no-any-return]


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "capabilities"
    return f"{field}: {error['msg']}"


def _model_factory(where: str, factory: Any, caps: Capabilities) -> tuple[Any, Capabilities]:
    """A ``TextclsModel`` subclass given as the factory is its own architecture too."""
    transformers = sys.modules.get("transformers")
    if (
        transformers is not None
        and isinstance(factory, type)
        and issubclass(factory, transformers.PreTrainedModel)
    ):
        from_context = getattr(factory, "from_context", None)
        if from_context is None:
            raise ContractError(
                f"{where}: factory {factory.__name__} is a PreTrainedModel class without "
                "from_context; subclass textcls.TextclsModel, or give a factory function "
                "factory(params, context) that builds the model"
            )
        assert isinstance(caps, ModelCapabilities)
        if caps.architecture is None:
            caps = caps.model_copy(update={"architecture": factory})
        return from_context, caps
    return factory, caps


def _check_factory_signature(where: str, factory: Callable[..., Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # a builtin: nothing to check before it runs
    context = {"context": object()} if "context" in signature.parameters else {}
    try:
        signature.bind(object(), **context)
    except TypeError:
        raise ContractError(
            f"{where}: factory {getattr(factory, '__name__', factory)!r} must accept the "
            f"validated params as its first argument; its signature is {signature}"
        ) from None


def _accepts(function: Callable[..., Any], positional: int) -> bool:
    try:
        inspect.signature(function).bind(*([None] * positional))
    except TypeError:
        return False
    except ValueError:  # no signature to inspect (a builtin): trust it
        return True
    return True


def _check_capabilities(where: str, kind: str, params: type[BaseModel], caps: Any) -> None:
    if isinstance(caps, ModelCapabilities):
        if caps.lm_objectives and caps.language_model is None:
            raise ContractError(
                f"{where}: declares lm_objectives {sorted(caps.lm_objectives)} but no "
                "language_model head; add language_model=callable(model, objective)"
            )
        if caps.language_model is not None and not caps.lm_objectives:
            raise ContractError(
                f"{where}: has a language_model head but declares no lm_objectives; "
                "add lm_objectives={'mlm'} and/or {'clm'}"
            )
        if caps.language_model is not None and not _accepts(caps.language_model, 2):
            raise ContractError(f"{where}: language_model must accept (model, objective)")
        if caps.word_vectors and "embedding_dim" not in params.model_fields:
            raise ContractError(
                f"{where}: declares word_vectors but its params model {params.__name__} has "
                "no embedding_dim field"
            )
        architecture = caps.architecture
        if isinstance(architecture, str):
            module, _, attribute = architecture.partition(":")
            if not module or not attribute:
                raise ContractError(
                    f"{where}: architecture {architecture!r} must be 'module:Class'"
                )
        elif architecture is not None:
            _check_architecture_class(where, architecture)
    if isinstance(caps, ExplainerCapabilities) and not caps.model_kinds:
        raise ContractError(
            f"{where}: declares no model_kinds; an explainer explains 'pytorch' and/or 'onnx' "
            "model folders"
        )
    if isinstance(caps, DistillerCapabilities) and caps.teachers_param is not None:
        if caps.teachers_param not in params.model_fields:
            raise ContractError(
                f"{where}: teachers_param {caps.teachers_param!r} is not a field of its params "
                f"model {params.__name__}"
            )


def _check_architecture_class(where: str, architecture: Any) -> None:
    from transformers import PreTrainedModel

    if not (isinstance(architecture, type) and issubclass(architecture, PreTrainedModel)):
        raise ContractError(
            f"{where}: architecture {architecture!r} is not a transformers PreTrainedModel subclass"
        )
    model_type = getattr(getattr(architecture, "config_class", None), "model_type", "")
    if not model_type:
        raise ContractError(
            f"{where}: architecture {architecture.__name__} has no config_class with a "
            "model_type; set config_class (or params_model on a TextclsModel subclass)"
        )


# -- architectures ---------------------------------------------------------------------------
def architecture_class(where: str, architecture: type | str) -> type:
    """The architecture class, importing ``"module:Class"`` on first use."""
    if isinstance(architecture, type):
        return architecture
    module_name, _, attribute = architecture.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ContractError(
            f"{where}: cannot import architecture {architecture!r}: {exc}"
        ) from None
    _check_architecture_class(where, obj)
    return obj  # type: ignore[no-any-return]


def register_architecture(model_class: type, config_class: type | None = None) -> None:
    """Register a model class (and its config class) with the transformers Auto classes.

    Idempotent. textcls calls it for a component's declared ``architecture`` when the
    component registers (or on first use for ``"module:Class"``) and for every model a factory
    returns, so a plugin never needs to.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if config_class is None:
        config_class = model_class.config_class  # type: ignore[attr-defined]
    assert config_class is not None
    model_type = getattr(config_class, "model_type", "")
    if model_type not in CONFIG_MAPPING:
        AutoConfig.register(model_type, config_class)
    try:
        AutoModelForSequenceClassification.register(config_class, model_class)
    except ValueError:
        pass  # already registered in this process


def is_registered_model_type(model_type: str) -> bool:
    """True when transformers knows ``model_type`` (built in, or registered by a plugin)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return model_type in CONFIG_MAPPING


# -- products --------------------------------------------------------------------------------
def check_product(kind: str, plugin: str, name: str, product: Any) -> Any:
    """Check what a factory returned against its kind's contract; raise ContractError."""
    contract = CONTRACTS[kind]
    where = _where(plugin, kind, name)
    missing = [a for a in contract.required if not callable(getattr(product, a, None))]
    if kind == "tokenizer":
        from transformers import PreTrainedTokenizerBase

        if not isinstance(product, PreTrainedTokenizerBase):
            missing.append("PreTrainedTokenizerBase type")
    elif kind == "model":
        from transformers import PreTrainedModel

        if not isinstance(product, PreTrainedModel):
            missing.append("PreTrainedModel type")
        else:
            register_architecture(type(product), type(product.config))
    elif kind == "quantizer" and not isinstance(getattr(product, "precision", None), str):
        missing.append("precision")
    elif kind == "distiller":
        needs = distiller_needs(product)
        unknown = set(needs) - TEACHER_OUTPUTS
        if unknown:
            raise ContractError(
                f"{where}: needs names unknown teacher outputs {sorted(unknown)}; choose from "
                f"{sorted(TEACHER_OUTPUTS)}"
            )
    if missing:
        raise ContractError(
            f"{where}: the factory returned {type(product).__name__}, which lacks "
            f"{', '.join(missing)}; it must return {contract.returns}"
        )
    return product


def check_resolved(plugin: str, result: object) -> str | None:
    """Check a resolver's answer: a folder path or None; raise ContractError naming the plugin."""
    if result is None:
        return None
    if not isinstance(result, str | os.PathLike):
        raise ContractError(
            f"plugin {plugin!r}: textcls_resolve_pretrained returned {type(result).__name__}; "
            "it must return a local folder path (str) or None"
        )
    return os.fspath(result)


def distiller_needs(distiller: Any) -> frozenset[str]:
    """The teacher outputs a distiller reads (``{"logits"}`` unless it declares ``needs``)."""
    needs = getattr(distiller, "needs", None)
    return frozenset({"logits"}) if needs is None else frozenset(needs)


# -- calling plugin code by declared arguments ------------------------------------------------
@functools.lru_cache(maxsize=512)
def _declared(function: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return frozenset(), True
    names = frozenset(
        p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)


def declared_arguments(function: Callable[..., Any]) -> frozenset[str]:
    """The keyword names ``function`` accepts (all of them when it takes ``**kwargs``)."""
    names, var_keyword = _declared(_unwrap(function))
    return frozenset({"*"}) | names if var_keyword else names


def call_declared(function: Callable[..., Any], *args: Any, **available: Any) -> Any:
    """Call ``function(*args, **k)`` with only the keyword arguments it declares.

    Positional ``args`` are always passed (they are the documented minimum); of ``available``
    only the names the function declares are passed, unless it takes ``**kwargs``.
    """
    names, var_keyword = _declared(_unwrap(function))
    if var_keyword:
        return function(*args, **available)
    return function(*args, **{k: v for k, v in available.items() if k in names})


def _unwrap(function: Callable[..., Any]) -> Callable[..., Any]:
    # bound methods are created afresh on each access: cache on the underlying function
    return getattr(function, "__func__", function)  # type: ignore[no-any-return]
