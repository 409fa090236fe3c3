"""`antiphon train encode` and `antiphon train lm` from the command line: outputs, logs,
TensorBoard events when the package is there, mixed precision falling back on CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from train_helpers import lm_toml

from antiphon.cli import main
from antiphon.train.lm_data import cache_folder


def test_encode_command_fills_the_cache(
    assets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "codes"
    args = ["train", "encode", str(assets["dataset"]), "--codec", str(assets["codec"])]
    assert main([*args, "--cache-dir", str(cache)]) == 0
    assert "5 dialogues encoded" in capsys.readouterr().out
    folder = cache_folder(assets["dataset"], assets["codec"], str(cache))
    assert len(list(folder.glob("*.safetensors"))) == 5
    assert main([*args, "--cache-dir", str(cache)]) == 0
    assert "0 dialogues encoded" in capsys.readouterr().out
    bad = ["train", "encode", str(assets["dataset"]), "--codec", str(tmp_path / "none.st")]
    assert main(bad) == 2
    assert "none.st" in capsys.readouterr().err


def test_lm_command_trains_logs_and_exports(
    assets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    cfg = tmp_path / "lm.toml"
    cfg.write_text(lm_toml(assets, out, steps=2, precision="bf16"))
    assert main(["train", "lm", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert "precision=bf16 needs CUDA; using fp32" in captured.err
    assert '"step": 2' in captured.out
    assert (out / "train.csv").read_text().count("\n") == 3  # header + 2 steps
    assert (out / "eval.csv").is_file() and (out / "config.toml").read_text() == cfg.read_text()
    assert (out / "export" / "model.safetensors").is_file()
    if importlib.util.find_spec("tensorboard") is not None:
        assert list((out / "tb").glob("events.out.tfevents.*"))
    # run again: nothing left to train, the same export comes back
    assert main(["train", "lm", str(cfg)]) == 0
    assert (out / "train.csv").read_text().count("\n") == 3
