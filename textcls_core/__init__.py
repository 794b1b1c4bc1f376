"""textcls: the library under textcls.

Config schema, hookspecs, the plugin manager and registries, and the pipeline stages as plain
functions. Nothing here imports Prefect: every stage can run from a notebook or another
orchestrator. Plugins import only the names exported here.
"""

from textcls import auto_classes as _auto_classes
from textcls.components import KINDS, Component, ComponentRegistry
from textcls.config import (
    ComponentRef,
    PipelineConfig,
    config_from_dict,
    load_config,
    pipeline_json_schema,
)
from textcls.contracts import (
    Capabilities,
    ContractError,
    DataSourceCapabilities,
    Distiller,
    DistillerCapabilities,
    Explainer,
    ExplainerCapabilities,
    ModelCapabilities,
    NoParams,
    Quantizer,
    QuantizerCapabilities,
    Register,
    TokenizerCapabilities,
    TrackerCapabilities,
    call_declared,
)
from textcls.data.files import check_file_start, expand_inputs, find_undecodable_line
from textcls.data.table import FILE as FILE_COLUMN
from textcls.data.table import LABEL as LABEL_COLUMN
from textcls.data.table import ROW as ROW_COLUMN
from textcls.data.table import TEXT as TEXT_COLUMN
from textcls.data.table import (
    DataSource,
    LoadedSplit,
    SkippedRow,
    SplitRequest,
    join_text_columns,
    row_table,
)
from textcls.errors import (
    ConfigError,
    DataError,
    PluginError,
    StageError,
    TextclsError,
    UnknownComponentError,
)
from textcls.explanation.subject import Attribution, ExplainSubject
from textcls.hookspecs import hookimpl
from textcls.plugin_api import ModelContext, TokenizerContext
from textcls.plugin_manager import PluginHost, get_plugins, reset_plugins
from textcls.tokenization import SPECIAL_TOKENS, wrap_tokenizer
from textcls.tokenization import batched as batched_texts
from textcls.tracking import RegistryEvent, RunStart, StageOutcome, Tracker
from textcls.version import __version__

__all__ = [
    "Attribution",
    "Capabilities",
    "ExplainSubject",
    "Explainer",
    "ExplainerCapabilities",
    "ContractError",
    "DataSourceCapabilities",
    "DistillerCapabilities",
    "ModelCapabilities",
    "Quantizer",
    "QuantizerCapabilities",
    "Register",
    "TextclsConfig",
    "TokenizerCapabilities",
    "Tracker",
    "TrackerCapabilities",
    "RegistryEvent",
    "RunStart",
    "StageOutcome",
    "call_declared",
    "causal_language_model",
    "FILE_COLUMN",
    "KINDS",
    "LABEL_COLUMN",
    "ROW_COLUMN",
    "TEXT_COLUMN",
    "Component",
    "ComponentRef",
    "ComponentRegistry",
    "ConfigError",
    "DataError",
    "DataSource",
    "Distiller",
    "LoadedSplit",
    "ModelContext",
    "SPECIAL_TOKENS",
    "TokenizerContext",
    "NoParams",
    "PipelineConfig",
    "PluginError",
    "PluginHost",
    "SkippedRow",
    "SplitRequest",
    "StageError",
    "TextclsError",
    "TextclsModel",
    "UnknownComponentError",
    "__version__",
    "batched_texts",
    "causal_mask",
    "classification_loss",
    "check_file_start",
    "config_from_dict",
    "expand_inputs",
    "find_undecodable_line",
    "get_plugins",
    "hookimpl",
    "join_text_columns",
    "label_config",
    "load_config",
    "masked_max",
    "masked_mean",
    "pipeline_json_schema",
    "register_architecture",
    "reset_plugins",
    "row_table",
    "wrap_tokenizer",
]

# transformers' Auto classes (and so transformers.pipeline and Optimum's ORT models) find every
# textcls architecture after `import textcls` alone: see auto_classes.py.
_auto_classes.install()

# Names that import torch and transformers load on first use, so that `textcls --version`,
# `textcls config validate` and plugin discovery stay fast.
_LAZY = {
    "TextclsModel": "textcls.modeling",
    "causal_mask": "textcls.modeling",
    "classification_loss": "textcls.modeling",
    "label_config": "textcls.modeling",
    "masked_max": "textcls.modeling",
    "masked_mean": "textcls.modeling",
    "register_architecture": "textcls.contracts",
    "TextclsConfig": "textcls.modeling",
    "causal_language_model": "textcls.modeling",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'textcls' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
