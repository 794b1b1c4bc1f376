"""textcls_core: the library under textcls.

Config schema, hookspecs, the plugin manager and registries, and the pipeline stages as plain
functions. Nothing here imports Prefect: every stage can run from a notebook or another
orchestrator. Plugins import only the names exported here.
"""

from textcls_core.components import KINDS, Component, ComponentRegistry, NoParams
from textcls_core.config import (
    ComponentRef,
    PipelineConfig,
    config_from_dict,
    load_config,
    pipeline_json_schema,
)
from textcls_core.data.files import check_file_start, expand_inputs, find_undecodable_line
from textcls_core.data.table import FILE as FILE_COLUMN
from textcls_core.data.table import LABEL as LABEL_COLUMN
from textcls_core.data.table import ROW as ROW_COLUMN
from textcls_core.data.table import TEXT as TEXT_COLUMN
from textcls_core.data.table import (
    DataSource,
    LoadedSplit,
    SkippedRow,
    SplitRequest,
    join_text_columns,
    row_table,
)
from textcls_core.errors import (
    ConfigError,
    DataError,
    PluginError,
    StageError,
    TextclsError,
    UnknownComponentError,
)
from textcls_core.hookspecs import hookimpl
from textcls_core.plugin_api import Distiller, ModelContext
from textcls_core.plugin_manager import PluginHost, get_plugins, reset_plugins
from textcls_core.version import __version__

__all__ = [
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
    "NoParams",
    "PipelineConfig",
    "PluginError",
    "PluginHost",
    "SkippedRow",
    "SplitRequest",
    "StageError",
    "TextclsError",
    "UnknownComponentError",
    "__version__",
    "check_file_start",
    "config_from_dict",
    "expand_inputs",
    "find_undecodable_line",
    "get_plugins",
    "hookimpl",
    "join_text_columns",
    "load_config",
    "pipeline_json_schema",
    "reset_plugins",
    "row_table",
]
