"""Built-in data sources: csv, tsv, jsonl, parquet, text-folder, hf-disk, hf-hub.

Every source reads local files (the default capability) except ``hf-hub``.
"""

from __future__ import annotations

from textcls import DataSourceCapabilities, Register, hookimpl
from textcls.plugins.sources.csv_source import CsvParams, DelimitedSource, TsvParams
from textcls.plugins.sources.folder_source import TextFolderParams, TextFolderSource
from textcls.plugins.sources.hf_source import HfDiskParams, HfDiskSource, HfHubParams, HfHubSource
from textcls.plugins.sources.jsonl_source import JsonlParams, JsonlSource
from textcls.plugins.sources.parquet_source import ParquetParams, ParquetSource


@hookimpl
def textcls_register_data_sources(register: Register) -> None:
    register(
        "csv",
        DelimitedSource,
        params=CsvParams,
        description="Comma-separated files with a header line (globs and lists allowed)",
    )
    register(
        "tsv",
        DelimitedSource,
        params=TsvParams,
        description="Tab-separated files with a header line, unquoted by default",
    )
    register(
        "jsonl",
        JsonlSource,
        params=JsonlParams,
        description="JSON Lines: one object per line",
    )
    register(
        "parquet",
        ParquetSource,
        params=ParquetParams,
        description="Parquet files",
    )
    register(
        "text-folder",
        TextFolderSource,
        params=TextFolderParams,
        description="root/<label>/*.txt, one example per file",
    )
    register(
        "hf-disk",
        HfDiskSource,
        params=HfDiskParams,
        description="A datasets dataset saved with save_to_disk (PATH or PATH#split)",
    )
    register(
        "hf-hub",
        HfHubSource,
        params=HfHubParams,
        capabilities=DataSourceCapabilities(local_files=False),
        description="A Hugging Face Hub dataset id (ID or ID#split); needs network",
    )
