"""Micro training runs: losses go down, an interrupted run resumes to exactly the same
weights, and the exported folders load with load_lm / load_mimi / the end-to-end stack."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch
from train_helpers import codec_toml, config, lm_toml

from antiphon.codec.checkpoint import load_mimi
from antiphon.e2e.stack import E2EStack
from antiphon.lm.checkpoint import find_checkpoint, load_lm
from antiphon.lm.model import LMModel
from antiphon.train.config import OptimConfig
from antiphon.train.run import run_training
from antiphon.train.trainer import DeadlineClock, lr_factor


def _column(path: Path, name: str) -> list[float]:
    with path.open(newline="") as f:
        return [float(row[name]) for row in csv.DictReader(f)]


def _final_states(out: Path) -> dict[str, dict[str, torch.Tensor]]:
    ckpt = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    return torch.load(ckpt, map_location="cpu", weights_only=False)["modules"]


def _assert_same(
    a: dict[str, dict[str, torch.Tensor]], b: dict[str, dict[str, torch.Tensor]]
) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key, value in a[name].items():
            assert torch.equal(value, b[name][key]), f"{name}.{key} differs"


def test_lm_loss_decreases_and_export_serves(assets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "lm"
    summary = run_training(config(lm_toml(assets, out, steps=24, eval_every=12), "lm"))
    loss = _column(out / "train.csv", "loss")
    assert len(loss) == 24
    assert sum(loss[-3:]) < 0.5 * sum(loss[:3]), loss
    text = _column(out / "train.csv", "text_loss")
    assert sum(text[-3:]) < sum(text[:3])
    evals = _column(out / "eval.csv", "semantic_acc")
    assert len(evals) == 2 and 0.0 <= evals[-1] <= 1.0
    assert set(summary["eval"]) >= {"text_loss", "text_acc", "semantic_acc", "q0_loss", "q7_loss"}
    # the export is a released-layout folder: the LM reads back equal to the trained weights
    folder = summary["export"]
    files = find_checkpoint(folder)
    trained = _final_states(out)["model"]
    loaded = load_lm(files.lm).state_dict()
    assert loaded.keys() == trained.keys()
    assert all(torch.equal(loaded[k], trained[k]) for k in trained)
    stack = E2EStack.load(folder)  # what `antiphon serve --brain moshi --checkpoint` does
    assert stack.lm.config == files.config and stack.mimi.num_codebooks >= 8


def test_codec_loss_decreases_and_export_loads(assets: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "codec"
    text = codec_toml(assets, out, steps=10, batch_size=2).replace(
        "discriminator_filters = 4", "discriminator = false"
    )
    summary = run_training(config(text, "codec"))
    mel = _column(out / "train.csv", "mel")
    assert sum(mel[-3:]) < 0.85 * sum(mel[:3]), mel
    assert set(summary["eval"]) >= {"si_sdr", "mel_distance", "stoi"}
    model = load_mimi(summary["export"])
    trained = _final_states(out)["model"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())


def test_lm_resume_is_exact(assets: dict[str, Path], tmp_path: Path) -> None:
    cfg = config(lm_toml(assets, tmp_path / "unused", steps=6, grad_accum=2), "lm")
    run_training(cfg, tmp_path / "straight")
    first = run_training(cfg, tmp_path / "resumed", stop_at=3)
    assert first["step"] == 3 and first["export"] is None
    second = run_training(cfg, tmp_path / "resumed")
    assert second["step"] == 6 and second["export"] is not None
    _assert_same(_final_states(tmp_path / "straight"), _final_states(tmp_path / "resumed"))
    # the CSV log continues rather than restarting
    assert _column(tmp_path / "resumed" / "train.csv", "step") == [1, 2, 3, 4, 5, 6]


def test_codec_resume_is_exact_with_discriminator(assets: dict[str, Path], tmp_path: Path) -> None:
    cfg = config(codec_toml(assets, tmp_path / "unused", steps=4, eval_every=100), "codec")
    run_training(cfg, tmp_path / "straight")
    run_training(cfg, tmp_path / "resumed", stop_at=2)
    run_training(cfg, tmp_path / "resumed")
    a, b = _final_states(tmp_path / "straight"), _final_states(tmp_path / "resumed")
    assert set(a) == {"model", "discriminator"}
    _assert_same(a, b)


def test_dual_rate_with_frozen_backbone_trains_and_init_continues(
    assets: dict[str, Path], tmp_path: Path
) -> None:
    """The issue's variants train through the same loop: dual resolution (2 frames per
    temporal step), a frozen backbone with an added speech layer; ``model.init`` continues
    from an exported checkpoint."""
    extra = "text_card = 128\nframes_per_step = 2\nspeech_layers = 1\nfreeze_backbone = true"
    text = lm_toml(assets, tmp_path / "dual", steps=4).replace("text_card = 128", extra)
    cfg = config(text, "lm")
    first = run_training(cfg)
    from antiphon.train.lm_task import lm_model_config

    torch.manual_seed(cfg.run.seed)  # the trainer's initial weights
    initial = LMModel(lm_model_config(cfg)).state_dict()
    trained = _final_states(tmp_path / "dual")["model"]
    frozen = [k for k in initial if k.startswith("transformer.layers.0.")]
    speech = [k for k in initial if k.startswith("transformer.layers.1.")]
    assert frozen and speech
    assert all(torch.equal(initial[k], trained[k]) for k in frozen)
    assert not all(torch.equal(initial[k], trained[k]) for k in speech)
    assert E2EStack.load(first["export"]).lm.config.frames_per_step == 2
    init = text.replace('preset = "tiny"', f'preset = "tiny"\ninit = "{first["export"]}"')
    second = run_training(config(init, "lm"), tmp_path / "continued")
    assert second["train"]["loss"] < first["train"]["loss"]


def test_deadline_anneals_the_learning_rate_to_its_floor(
    assets: dict[str, Path], tmp_path: Path
) -> None:
    """A run whose deadline comes long before run.steps still ends its cosine at the floor
    (min_lr_ratio 0.1 by default), decreasing all the way."""
    out = tmp_path / "lm"
    cfg = config(lm_toml(assets, out, steps=100_000, checkpoint_every=0), "lm")
    summary = run_training(cfg, deadline=time.monotonic() + 8)  # setup included
    assert summary["timed_out"] and 20 < summary["step"] < 100_000
    lr = _column(out / "train.csv", "lr_lm")[-summary["step"] :]
    peak = cfg.optim.lr
    assert lr[2] > 0.9 * peak  # warmup is one step; early on the clock has barely moved
    assert all(b <= a for a, b in zip(lr[1:], lr[2:], strict=False)), "not decreasing"
    assert lr[-1] < 0.115 * peak  # the floor is 0.1 * peak


def test_lr_factor_follows_the_clock_when_it_is_ahead() -> None:
    o = OptimConfig(lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_factor(5, 1000, o, at_least=0.9) == 0.6  # warmup ignores the clock
    assert lr_factor(10, 1000, o) == 1.0
    assert abs(lr_factor(10, 1000, o, at_least=0.5) - 0.55) < 1e-12  # cosine halfway
    assert abs(lr_factor(505, 1000, o, at_least=0.2) - 0.55) < 1e-12  # steps ahead: steps
    assert lr_factor(10, 1000, o, at_least=1.5) == 0.1
    clock = DeadlineClock(deadline=110.0, warmup_steps=10)
    assert clock.progress(now=5.0, step=3) == 0.0
    assert clock.progress(now=10.0, step=10) == 0.0  # warmup ended: the span starts here
    assert abs(clock.progress(now=10.0 + 0.97 * 50, step=400) - 0.5) < 1e-12
