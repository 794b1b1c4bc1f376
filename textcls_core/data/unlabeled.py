"""Unlabelled text (a pretraining corpus, extra transfer-set rows), read like labelled data.

The pipeline's data source reads it and the same cleaning applies, so the texts a model
pretrains or distils on look like the ones it is trained and scored on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from textcls.config import PipelineConfig
from textcls.data.clean import clean_texts
from textcls.data.table import TEXT, SplitRequest

if TYPE_CHECKING:
    from textcls.plugin_manager import PluginHost


def load_unlabeled_texts(
    config: PipelineConfig,
    inputs: str | list[str],
    field: str,
    *,
    plugins: PluginHost | None = None,
) -> pa.Array:
    """Read unlabelled text (a pretraining corpus) through the pipeline's data source.

    The same cleaning applies; empty lines are skipped (not an error for unlabelled text).
    """
    if plugins is None:
        from textcls.plugin_manager import get_plugins

        plugins = get_plugins()
    data = config.data
    source = plugins.component("data_source", data.source.name).create(data.source.params)
    request = SplitRequest(
        split="unlabeled",
        inputs=[inputs] if isinstance(inputs, str) else list(inputs),
        field=field,
        text_columns=[data.text_column]
        if isinstance(data.text_column, str)
        else list(data.text_column),
        text_separator=data.text_separator,
        label_column=None,
        bad_rows=data.bad_rows,
    )
    loaded = source.load(request)
    cleaned = clean_texts(loaded.table.column(TEXT).combine_chunks(), data.cleaning)
    return cleaned.filter(pc.fill_null(pc.greater(pc.utf8_length(cleaned), 0), False))
