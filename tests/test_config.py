"""Pipeline files: schema, plugin params, error locations, overrides, relative paths."""

from __future__ import annotations

import json

import pytest
from textcls import ConfigError, config_from_dict, load_config, pipeline_json_schema
from textcls.flows.cli import app
from typer.testing import CliRunner

VALID = """\
name: demo
seed: 7
data:
  source: {name: csv, params: {delimiter: ","}}
  train: data/train.csv
  validation: [data/val.csv]
registry: {path: reg}
"""


def test_valid_file_loads_with_defaults_and_relative_paths(write, tmp_path):
    path = write("pipes/pipeline.yaml", VALID)
    config = load_config(path)
    assert config.name == "demo" and config.seed == 7
    base = tmp_path / "pipes"
    assert config.data.train == str(base / "data/train.csv")
    assert config.data.validation == [str(base / "data/val.csv")]
    assert config.registry is not None and config.registry.path == str(base / "reg")
    assert config.output == str(base / "runs")
    # the plugin's params model filled in its defaults
    assert config.data.source.params["encoding"] == "utf-8"
    assert config.data.source.params["delimiter"] == ","


def test_source_shorthand_and_default():
    from textcls import config_from_dict

    config = config_from_dict({"name": "x", "data": {"source": "tsv", "train": "a.tsv"}})
    assert config.data.source.name == "tsv"
    assert config.data.source.params["delimiter"] == "\t"
    config = config_from_dict({"name": "x", "data": {"train": "a.csv"}})
    assert config.data.source.name == "csv"


def test_schema_error_names_file_line_and_dotted_path(write):
    path = write("p.yaml", VALID.replace("seed: 7", "seed: seven"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:2: seed: Input should be a valid integer, unable to parse string as an integer"
    )


def test_plugin_params_error_names_dotted_path(write):
    path = write("p.yaml", VALID.replace('delimiter: ","', 'delimiter: ";;"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:4: data.source.params.delimiter: String should have at most 1 character"
    )


def test_unknown_plugin_param_and_unknown_field(write):
    path = write("p.yaml", VALID.replace('delimiter: ","', "delimitr: x") + "extra_section: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}:8: extra_section: unknown field" in message


def test_unknown_component_in_config_suggests_closest(write):
    path = write("p.yaml", VALID.replace("name: csv", "name: cvs"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:4: data.source.name: unknown data source 'cvs'.")
    assert "Did you mean 'csv'?" in message


def test_missing_required_field_points_at_parent(write):
    path = write("p.yaml", "name: demo\ndata:\n  text_column: body\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:2: data.train: Field required"


def test_several_errors_are_all_reported(write):
    path = write("p.yaml", "name: 'bad name'\nseed: x\ndata: {train: a.csv}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:1: name: String should match pattern")
    assert lines[1].startswith(f"{path}:2: seed:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("", "the pipeline file is empty"),
        ("- a\n- b\n", "must be a mapping of sections"),
    ],
)
def test_unreadable_files(write, text, expected):
    path = write("p.yaml", text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="pipeline file not found"):
        load_config("/nonexistent/pipeline.yaml")


def test_overrides_parse_values_and_create_sections(write):
    path = write("p.yaml", VALID)
    config = load_config(
        path,
        [
            "seed=99",
            "data.max_train_examples=500",
            "data.cleaning.lowercase=true",
            "data.source.params.encoding=latin-1",
            "evaluate.baselines=[tfidf-logreg]",
        ],
    )
    assert config.seed == 99
    assert config.data.max_train_examples == 500
    assert config.data.cleaning.lowercase is True
    assert config.data.source.params["encoding"] == "latin-1"
    assert config.evaluate.baselines == ["tfidf-logreg"]


def test_override_of_list_item(write):
    path = write("p.yaml", VALID + "quantize:\n  - {name: onnx-fp32}\n")
    from textcls import config_from_dict

    raw = {
        "name": "x",
        "data": {"train": "a.csv"},
        "student": {"model": {"name": "bow"}},
        "quantize": [{"name": "q", "targets": ["student"]}],
    }
    config = config_from_dict(
        raw, overrides=["quantize.0.max_accuracy_drop=2.5"], validate_plugins=False
    )
    assert config.quantize[0].max_accuracy_drop == 2.5
    with pytest.raises(ConfigError, match="'3' is not an index of a list of 1 items"):
        config_from_dict(raw, overrides=["quantize.3.name=x"], validate_plugins=False)
    del path


def test_override_errors_say_where(write):
    path = write("p.yaml", VALID)
    with pytest.raises(ConfigError, match=r"expected dotted.key=value"):
        load_config(path, ["seed"])
    with pytest.raises(ConfigError) as info:
        load_config(path, ["seed=abc"])
    assert str(info.value).startswith(f"{path} (--set seed): seed: Input should be a valid integer")
    with pytest.raises(ConfigError, match=r"seed is a int, not a section"):
        load_config(path, ["seed.x=1"])


def test_json_schema_describes_the_file():
    schema = pipeline_json_schema()
    assert schema["title"] == "textcls pipeline"
    assert {"name", "data"} <= set(schema["required"])
    assert "teacher" in schema["properties"]
    json.dumps(schema)  # serialisable


def test_a_quantize_target_without_its_section_fails_validation():
    """Found by `config validate` (and so before `textcls run` starts Prefect), not mid-run."""
    raw = {
        "name": "x",
        "data": {"train": "t.csv"},
        "student": {"model": {"name": "bow"}},
        "quantize": [{"name": "ort-dynamic-int8", "targets": ["teacher"]}],
    }
    with pytest.raises(ConfigError, match="targets 'teacher', but the pipeline has no teacher"):
        config_from_dict(raw)


def test_config_validate_says_a_distilling_student_needs_the_pipelines_teacher(write):
    """The stage function takes any teacher folder; a whole pipeline needs its teacher section."""
    path = write(
        "p.yaml",
        VALID + "student:\n  model: {name: bow}\n  distill: {name: logits-kl}\n",
    )
    assert load_config(path).student.distill is not None  # the file itself is valid
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert "student.distill needs a teacher section" in result.output
