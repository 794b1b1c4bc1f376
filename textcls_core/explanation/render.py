"""Explanations as coloured terminal text, JSON, or one self-contained HTML page.

Colours: green pushed toward the target label, red away from it; the strength is the word's
score relative to the largest absolute score of the same explanation, so each row reads on
its own scale (a row's numbers are in the title of each word on the page, and in JSON).
The HTML page has its CSS inline and loads nothing: it opens offline, from a mail attachment,
or from a CI artifact.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from textcls.explanation.explain import Explanation

POSITIVE = (22, 163, 74)
NEGATIVE = (220, 38, 38)


def strengths(explanation: Explanation) -> list[float]:
    """Each word's score over the largest absolute score of its explanation, in [-1, 1]."""
    scale = max((abs(t.attribution) for t in explanation.tokens), default=0.0)
    if scale == 0:
        return [0.0 for _ in explanation.tokens]
    return [t.attribution / scale for t in explanation.tokens]


def top_words(explanation: Explanation, k: int = 5) -> str:
    """``gorgeous +0.31, witty +0.21``: the words that pushed most toward the target."""
    return ", ".join(f"{t.word} {t.attribution:+.3g}" for t in explanation.top(k))


def headline(explanation: Explanation) -> str:
    target = (
        ""
        if explanation.target == explanation.label
        else f", toward {explanation.target} ({explanation.target_probability:.3f})"
    )
    delta = explanation.details.get("convergence_delta")
    note = "" if delta is None else f", convergence delta {delta:.2g}"
    label = f"{explanation.label} ({explanation.probability:.3f})"
    return f"{label} by {explanation.method}{target}{note}"


# -- terminal ------------------------------------------------------------------------------
def as_rich_text(explanation: Explanation) -> Any:
    """One explanation as rich ``Text``: the headline, the coloured words, the top words."""
    from rich.text import Text

    text = Text()
    text.append(headline(explanation) + "\n", style="bold")
    position = 0
    for word, strength in zip(explanation.tokens, strengths(explanation), strict=True):
        start = explanation.text.find(word.word, position)
        if start > position:
            text.append(explanation.text[position:start])
        base = POSITIVE if strength >= 0 else NEGATIVE
        r, g, b = (round(255 - (255 - c) * abs(strength)) for c in base)
        text.append(word.word, style=f"black on rgb({r},{g},{b})")
        position = (start if start >= 0 else position) + len(word.word)
    text.append(explanation.text[position:] + "\n")
    text.append(f"top: {top_words(explanation)}\n", style="dim")
    return text


# -- JSON ----------------------------------------------------------------------------------
def as_json(explanations: Sequence[Explanation]) -> str:
    """A JSON array with one object per text, in input order (see ``Explanation.as_json``)."""
    return json.dumps([e.as_json() for e in explanations], ensure_ascii=False, indent=2) + "\n"


# -- HTML ----------------------------------------------------------------------------------
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1.5rem;color:#111;background:#fff;line-height:1.5}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
p.intro,p.legend{color:#444}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{border-top:1px solid #ddd;padding:.45rem .6rem;vertical-align:top;text-align:left}
th{font-weight:600;width:17rem}
.meta{color:#555;font-size:.85rem;display:block;font-weight:400}
.w{padding:.05rem .15rem;border-radius:.2rem}
.top{color:#333;font-size:.85rem}
.swatch{display:inline-block;width:1rem;height:.8rem;vertical-align:middle;border-radius:.15rem}
""".strip()


def _colour(strength: float) -> str:
    base = POSITIVE if strength >= 0 else NEGATIVE
    return f"rgba({base[0]},{base[1]},{base[2]},{abs(strength) * 0.85:.3f})"


def words_html(explanation: Explanation) -> str:
    """The text with each word on its colour; the exact score is the word's title."""
    parts, position = [], 0
    for word, strength in zip(explanation.tokens, strengths(explanation), strict=True):
        start = explanation.text.find(word.word, position)
        if start < 0:
            start = position
        parts.append(html.escape(explanation.text[position:start]))
        parts.append(
            f'<span class="w" style="background:{_colour(strength)}" '
            f'title="{word.attribution:+.4g}">{html.escape(word.word)}</span>'
        )
        position = start + len(word.word)
    parts.append(html.escape(explanation.text[position:]))
    return "".join(parts)


def row_html(name: str, explanation: Explanation) -> str:
    return (
        f"<tr><th>{html.escape(name)}<span class='meta'>{html.escape(headline(explanation))}"
        f"</span></th><td>{words_html(explanation)}<div class='top'>top: "
        f"{html.escape(top_words(explanation))}</div></td></tr>"
    )


def html_page(
    title: str,
    blocks: Sequence[tuple[str, Sequence[tuple[str, Explanation]]]],
    intro: str = "",
) -> str:
    """One self-contained page: per block a heading and one row per (name, explanation)."""
    legend = (
        f"<p class='legend'><span class='swatch' style='background:{_colour(1)}'></span> "
        f"toward the label &nbsp; <span class='swatch' style='background:{_colour(-1)}'>"
        "</span> away from it; hover a word for its score.</p>"
    )
    body = [f"<h1>{html.escape(title)}</h1>"]
    if intro:
        body.append(f"<p class='intro'>{html.escape(intro)}</p>")
    body.append(legend)
    for heading, rows in blocks:
        body.append(f"<h2>{html.escape(heading)}</h2><table>")
        body += [row_html(name, explanation) for name, explanation in rows]
        body.append("</table>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
