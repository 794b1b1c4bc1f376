"""Code shipped in a model folder (``auto_map``) never runs, and nothing asks whether it should."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from model_helpers import toy_data, with_student
from textcls.stages.finetune import fine_tune

EVIL = """
from pathlib import Path
Path(__file__).with_name("RAN").write_text("code from the model folder ran")
from transformers import PretrainedConfig, PreTrainedTokenizerFast
class EvilConfig(PretrainedConfig):
    model_type = "evil"
EvilTokenizer = PreTrainedTokenizerFast
"""


@pytest.fixture(scope="module")
def booby_trapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real trained model folder whose config and tokenizer point at code in the folder,
    and whose textcls.json says ``hf`` so it loads through the Auto classes."""
    base = tmp_path_factory.mktemp("remote-code")
    raw, data_dir = toy_data(base)
    fine_tune(with_student(raw, base, "bow", epochs=1), "student", data_dir, base / "clean")
    folder = base / "trapped"
    shutil.copytree(base / "clean", folder)
    (folder / "evil.py").write_text(EVIL)
    for name, auto_map in (
        (
            "config.json",
            {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.X"},
        ),
        ("tokenizer_config.json", {"AutoTokenizer": ["evil.EvilTokenizer", "evil.EvilTokenizer"]}),
    ):
        data = json.loads((folder / name).read_text())
        data["auto_map"] = auto_map
        (folder / name).write_text(json.dumps(data))
    meta = json.loads((folder / "textcls.json").read_text())
    meta["model"]["name"] = "hf"
    (folder / "textcls.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_model_folder_s_own_code_never_runs_even_when_the_user_says_yes(
    booby_trapped: Path, command: str
) -> None:
    args = [booby_trapped, "good great film"] if command == "predict" else [booby_trapped]
    if command == "evaluate":
        data = booby_trapped.parent / "val.csv"
        args += ["--data", str(data), "-o", str(booby_trapped.parent / "eval-out")]
    done = subprocess.run(
        [sys.executable, "-m", "textcls.flows.cli", command, *map(str, args)],
        input="y\n" * 5,  # what `yes y |` would answer to a prompt
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TRANSFORMERS_OFFLINE": "1"},
    )
    output = done.stdout + done.stderr
    assert not (booby_trapped / "RAN").exists(), output[-3000:]
    assert "do you wish to run" not in output.lower(), "nothing may ask whether to run it"
    assert "Traceback" not in output
    if done.returncode == 0:
        # it loaded with the code transformers ships for this architecture
        assert command != "predict" or json.loads(done.stdout.splitlines()[0])["label"] == "pos"
    else:
        assert done.returncode == 1, output[-3000:]
        assert "textcls never runs a model folder's own code" in output, output[-3000:]
