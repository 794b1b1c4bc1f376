"""Text cleaning on Arrow arrays, each step switchable in ``data.cleaning``.

Vectorised with ``pyarrow.compute`` except HTML unescaping, which runs in Python only on the rows
that contain an entity. Besides real entities (``&lt;``) it repairs the bare ones left when a
scraper dropped the ampersand, as in AG News (``#39;s``, ``quot;``).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from textcls.config import CleaningConfig

# The common entities (and AG News's bare "#39;", "quot;") are replaced in Arrow. Rows holding any
# other entity are unescaped in Python instead, from their original text, so that no row is
# unescaped twice ("&amp;lt;" must become "&lt;", not "<").
_COMMON = r"&(?:amp|lt|gt|quot|apos|nbsp|#0*39);|#0*39;|(?:^|\s)(?:quot|lt|gt);"
_ANY_ENTITY = r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+\d*);|#\d{2,5};"
_VECTOR_REPLACEMENTS = (
    (r"&#0*39;|&apos;", "'"),
    (r"&quot;", '"'),
    (r"&lt;", "<"),
    (r"&gt;", ">"),
    (r"&nbsp;", "\u00a0"),
    (r"(^|[^&])#0*39;", "\\1'"),
    (r"(^|\s)quot;", '\\1"'),
    (r"(^|\s)lt;", "\\1<"),
    (r"(^|\s)gt;", "\\1>"),
    (r"&amp;", "&"),  # last, so "&amp;lt;" becomes "&lt;" as html.unescape does
)
_BARE_NUMERIC = re.compile(r"(?<!&)#(\d{2,5});")
_BARE_NAMED = re.compile(r"(?:(?<=^)|(?<=\s))(quot|amp|lt|gt|apos);")


def unescape_entities(text: str) -> str:
    """Unescape HTML entities, including bare ``#39;`` and ``quot;`` without their ``&``."""
    text = html.unescape(text)
    text = _BARE_NUMERIC.sub(lambda m: chr(int(m.group(1))), text)
    return _BARE_NAMED.sub(lambda m: html.unescape(f"&{m.group(1)};"), text)


def _only_where(array: pa.Array, mask: pa.Array, transform: Any) -> pa.Array:
    """Apply ``transform`` to the masked rows only: most rows need no work, so skip them."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return array
    return pc.replace_with_mask(array, mask, transform(array.filter(mask)))


def _unescape_vectorised(array: pa.Array) -> pa.Array:
    rare = pc.match_substring_regex(pc.replace_substring_regex(array, _COMMON, ""), _ANY_ENTITY)
    rare = pc.fill_null(rare, False)
    result = array
    for pattern, replacement in _VECTOR_REPLACEMENTS:
        result = pc.replace_substring_regex(result, pattern, replacement)
    if pc.any(rare).as_py():
        originals = array.filter(rare).to_pylist()
        fixed = pa.array([unescape_entities(v) for v in originals], pa.string())
        result = pc.replace_with_mask(result, rare, fixed)
    return result


def _unescape_array(array: pa.Array) -> pa.Array:
    # Every entity, with or without its "&", ends in ";": rows without one need no work.
    return _only_where(array, pc.match_substring(array, ";"), _unescape_vectorised)


def _collapse_whitespace(array: pa.Array) -> pa.Array:
    # Replacing only runs that are not already one plain space is ~4x faster than r"\s+".
    needs = pc.match_substring_regex(array, r"\s\s|[^\S ]")
    collapsed = _only_where(
        array, needs, lambda part: pc.replace_substring_regex(part, r"\s{2,}|[^\S ]", " ")
    )
    return pc.utf8_trim_whitespace(collapsed)


@functools.cache
def _arrow_normalizes(form: str) -> bool:
    """Whether this pyarrow's ``utf8_normalize`` gives Python's answer for ``form``.

    pyarrow 25.0 returns decomposed text for NFC and NFKC (``"caf\\u00e9"`` comes back as
    ``"cafe\\u0301"``), which would make equal texts differ from their cleaned duplicates.
    """
    probe = "caf\u00e9 \uff26\u0301"
    got = pc.utf8_normalize(pa.array([probe]), form=form)[0].as_py()
    return bool(got == unicodedata.normalize(form, probe))  # type: ignore[arg-type]


def unicode_normalize(texts: pa.Array, form: str) -> pa.Array:
    """Unicode normalisation of a string array: pyarrow's kernel where it is right."""
    if _arrow_normalizes(form):
        return pc.utf8_normalize(texts, form=form)
    return pa.array(
        [None if t is None else unicodedata.normalize(form, t) for t in texts.to_pylist()],  # type: ignore[arg-type]
        type=texts.type,
    )


def clean_texts(texts: pa.Array | pa.ChunkedArray, config: CleaningConfig) -> pa.Array:
    """Apply the configured cleaning steps; nulls stay null."""
    array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    if config.unescape_html and len(array):
        array = _unescape_array(array)
    if config.unicode_normalization:
        array = unicode_normalize(array, config.unicode_normalization)
    if config.collapse_whitespace:
        array = _collapse_whitespace(array)
    if config.lowercase:
        array = pc.utf8_lower(array)
    return array


def normalised_key(texts: pa.Array, cleaning: CleaningConfig | None = None) -> pa.Array:
    """A looser comparison key for 'normalised duplicates': case-folded, spaces collapsed.

    Steps the cleaning already applied to ``texts`` are not repeated.
    """
    if cleaning is None or cleaning.unicode_normalization != "NFKC":
        texts = unicode_normalize(texts, "NFKC")
    if cleaning is None or not cleaning.collapse_whitespace:
        texts = _collapse_whitespace(texts)
    return texts if cleaning is not None and cleaning.lowercase else pc.utf8_lower(texts)
