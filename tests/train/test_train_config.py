"""TOML configs: the shipped examples parse, bad keys/types/values name the file and key, and
the CLI turns them into exit code 2 with the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import config

from antiphon.cli import main
from antiphon.train.codec_task import codec_model_config
from antiphon.train.config import LMLossConfig, TrainConfigError, load_config, parse_config
from antiphon.train.lm_task import lm_model_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
GOOD = """
[data]
dataset = "d"
codec = "c.safetensors"
[model]
preset = "tiny"
[model.overrides]
dim = 32
num_heads = 2
[optim]
betas = [0.9, 0.99]
[run]
steps = 5
precision = "bf16"
"""


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.toml")))
def test_shipped_configs_parse_and_build_model_configs(name: str) -> None:
    kind = "codec" if "codec" in name else "lm"
    cfg = load_config(CONFIGS / name, kind)
    assert cfg.kind == kind and cfg.run.steps > 0
    if kind == "lm":
        assert lm_model_config(cfg).num_streams == 17
    else:
        assert codec_model_config(cfg).frame_rate == 12.5


def test_values_are_typed_and_frozen() -> None:
    cfg = config(GOOD, "lm")
    assert cfg.optim.betas == (0.9, 0.99) and cfg.run.precision == "bf16"
    assert isinstance(cfg.loss, LMLossConfig) and cfg.loss.semantic_weight == 100.0
    assert lm_model_config(cfg).dim == 32
    with pytest.raises(AttributeError):
        cfg.run.steps = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("steps = 5", "stepz = 5"), "unknown key run.stepz"),
        (("[optim]", "[optimiser]"), "'optimiser'"),
        (("steps = 5", 'steps = "five"'), "run.steps must be int"),
        (('precision = "bf16"', 'precision = "fp8"'), "run.precision must be one of"),
        (("betas = [0.9, 0.99]", "betas = [0.9]"), "optim.betas must be a list of 2"),
        (("steps = 5", "steps = 0"), "run.steps must be > 0"),
        (('codec = "c.safetensors"', ""), "data.codec is required"),
        (("steps = 5", "steps = 5\n[loss]\nmel = 1.0"), "unknown key loss.mel"),
        (("dataset =", "dataset = 3 #"), "data.dataset must be str"),
    ],
)
def test_bad_configs_name_file_and_key(edit: tuple[str, str], needle: str) -> None:
    text = GOOD.replace(*edit)
    with pytest.raises(TrainConfigError) as info:
        parse_config(text, "lm", "bad.toml")
    assert needle in str(info.value) and "bad.toml" in str(info.value)


def test_model_overrides_are_checked_against_the_model_config() -> None:
    with pytest.raises(TrainConfigError, match="model.overrides.dimm"):
        lm_model_config(config(GOOD.replace("dim = 32", "dimm = 32"), "lm"))
    with pytest.raises(TrainConfigError, match="split into 2 heads"):
        lm_model_config(config(GOOD.replace("dim = 32", "dim = 30"), "lm"))
    with pytest.raises(TrainConfigError, match="not an LM preset"):
        lm_model_config(config(GOOD.replace('preset = "tiny"', 'preset = "huge"'), "lm"))
    codec = '[data]\ndataset = "d"\n[model.overrides.seanet]\nn_filterz = 4\n'
    with pytest.raises(TrainConfigError, match=r"model\.overrides\.seanet\.n_filterz"):
        codec_model_config(parse_config(codec, "codec", "c.toml"))


def test_cli_reports_bad_config_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("steps = 5", "stepz = 5"))
    assert main(["train", "lm", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key run.stepz" in err and str(bad) in err
    assert main(["train", "codec", str(tmp_path / "missing.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    nodata = tmp_path / "nodata-codec.toml"
    nodata.write_text(f'[data]\ndataset = "{tmp_path / "none"}"\n')
    assert main(["train", "codec", str(nodata)]) == 2
    assert "data.dataset:" in capsys.readouterr().err
    good = tmp_path / "nodata.toml"
    good.write_text(GOOD.replace('dataset = "d"', f'dataset = "{tmp_path / "none"}"'))
    assert main(["train", "lm", str(good)]) == 2
    assert "data.codec: no such file" in capsys.readouterr().err
