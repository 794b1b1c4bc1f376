"""Text cleaning on Arrow arrays, each step switchable in ``data.cleaning``.

Vectorised with ``pyarrow.compute`` except HTML unescaping, which runs in Python only on the rows
that contain an entity. Besides real entities (``&lt;``) it repairs the bare ones left when a
scraper dropped the ampersand, as in AG News (``#39;s``, ``quot;``).
"""

from __future__ import annotations

import html
import re

import pyarrow as pa
import pyarrow.compute as pc

from textcls_core.config import CleaningConfig

_ENTITY_HINT = r"&|#\d{2,5};|(?:^|\s)(?:quot|amp|lt|gt|apos);"
_BARE_NUMERIC = re.compile(r"(?<!&)#(\d{2,5});")
_BARE_NAMED = re.compile(r"(?:(?<=^)|(?<=\s))(quot|amp|lt|gt|apos);")


def unescape_entities(text: str) -> str:
    """Unescape HTML entities, including bare ``#39;`` and ``quot;`` without their ``&``."""
    text = html.unescape(text)
    text = _BARE_NUMERIC.sub(lambda m: chr(int(m.group(1))), text)
    return _BARE_NAMED.sub(lambda m: html.unescape(f"&{m.group(1)};"), text)


def clean_texts(texts: pa.Array | pa.ChunkedArray, config: CleaningConfig) -> pa.Array:
    """Apply the configured cleaning steps; nulls stay null."""
    array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    if config.unescape_html and len(array):
        mask = pc.fill_null(pc.match_substring_regex(array, _ENTITY_HINT), False)
        if pc.any(mask).as_py():
            values = array.to_pylist()
            flags = mask.to_pylist()
            array = pa.array(
                [
                    unescape_entities(v) if flag and v is not None else v
                    for v, flag in zip(values, flags, strict=True)
                ],
                pa.string(),
            )
    if config.unicode_normalization:
        array = pc.utf8_normalize(array, form=config.unicode_normalization)
    if config.collapse_whitespace:
        array = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, r"\s+", " "))
    if config.lowercase:
        array = pc.utf8_lower(array)
    return array


def normalised_key(texts: pa.Array) -> pa.Array:
    """A looser comparison key for 'normalised duplicates': case-folded, spaces collapsed."""
    folded = pc.utf8_lower(pc.utf8_normalize(texts, form="NFKC"))
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(folded, r"\s+", " "))
