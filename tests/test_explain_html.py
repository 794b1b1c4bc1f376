"""The explanation page renders in a real browser: headless Chromium loads it from disk with the
network closed, shows the words with their colours, and takes a screenshot.

Chromium comes from ``TEXTCLS_TEST_CHROMIUM`` (CI sets it through ``.ci/chromium``) or the PATH;
without one the test skips and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from textcls.explanation.explain import Explanation, WordScore
from textcls.explanation.render import html_page


def chromium() -> str:
    path = os.environ.get("TEXTCLS_TEST_CHROMIUM") or shutil.which("chromium")
    if not path or not Path(path).exists():
        pytest.skip("no Chromium: set TEXTCLS_TEST_CHROMIUM or install chromium (.ci/chromium)")
    return path


def run_chromium(page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1000,600",
    ]
    return subprocess.run(
        [chromium(), *flags, *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def explanation(text: str, label: str, scores: list[float]) -> Explanation:
    from textcls.explanation.words import split_words

    words = split_words(text)
    return Explanation(
        text=text,
        label=label,
        probability=0.93,
        method="occlusion",
        target=label,
        target_probability=0.93,
        tokens=[WordScore(w.text, s) for w, s in zip(words, scores, strict=True)],
    )


def test_the_page_renders_coloured_words_in_headless_chromium(tmp_path):
    from PIL import Image

    page = tmp_path / "why.html"
    teacher = explanation(
        "a gorgeous , witty film & <no> tags", "positive", [0, 1, 0, 0.5, 0, 0, 0, -0.8, 0, 0]
    )
    student = explanation(
        "a gorgeous , witty film & <no> tags", "negative", [0, -0.2, 0, 0, 0, 0, 0, 0.9, 0, 0]
    )
    page.write_text(
        html_page(
            "Why the models decided", [("one text", [("teacher", teacher), ("student", student)])]
        ),
        encoding="utf-8",
    )
    dom = run_chromium(page, tmp_path / "profile-dom", "--dump-dom").stdout
    assert "Why the models decided" in dom
    assert "positive (0.930) by occlusion" in dom and "negative (0.930) by occlusion" in dom
    assert ">gorgeous</span>" in dom and "&lt;" in dom  # the text's markup is shown, not parsed
    assert "top: gorgeous +1, witty +0.5" in dom
    shot = tmp_path / "why.png"
    run_chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 600)
    pixels = list(image.getdata())
    green = sum(1 for r, g, b in pixels if g > r + 60 and g > b + 40)
    red = sum(1 for r, g, b in pixels if r > g + 80 and r > b + 80)
    assert green > 200 and red > 200, (green, red)  # words on their colours, both signs


def test_a_text_with_a_script_renders_as_text_and_never_runs(tmp_path):
    """User text, label names and the title are escaped: a <script> in any of them is shown."""
    from textcls.explanation.words import split_words

    attack = "<script>document.title='pwned';document.body.innerHTML='pwned'</script>"
    text = f"great film {attack} <img src=x onerror=\"document.title='img'\">"
    scores = [1.0] + [0.0] * (len(split_words(text)) - 1)
    item = explanation(text, f"pos{attack}", scores)
    page = tmp_path / "why.html"
    page.write_text(html_page(f"Why {attack}", [(text, [(attack, item)])]), encoding="utf-8")
    dom = run_chromium(page, tmp_path / "profile", "--dump-dom").stdout
    # had a script run, the title and the body would read "pwned" (or "img")
    assert "<title>Why &lt;script&gt;document.title=" in dom
    assert ">great</span>" in dom and "<table>" in dom
    assert "<script" not in dom and "<img" not in dom
    assert dom.count("&lt;script&gt;") >= 5  # title, heading, row name, label, the words
