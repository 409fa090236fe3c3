"""Two CPU processes under torchrun (gloo) take the same steps as one process with the whole
batch: same losses and same final weights, with DDP and with FSDP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from train_helpers import config, lm_toml

from antiphon.train.run import run_training

REPO = Path(__file__).resolve().parents[2]


def _toml(assets: dict[str, Path], out: Path, **run: object) -> str:
    # Adam's eps at 1e-6: the depth transformer's first-step query weights have a gradient
    # that is zero up to float rounding (~1e-9, a softmax over one key); with eps 1e-8 Adam
    # would turn that rounding noise, which differs with the reduction order, into full-size
    # updates. Every real gradient is many orders above it either way.
    text = lm_toml(assets, out, steps=3, grad_accum=2, **run)
    return text.replace("warmup_steps = 1", "warmup_steps = 1\neps = 1e-6")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _final_model(out: Path) -> dict[str, torch.Tensor]:
    ckpt = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    return torch.load(ckpt, map_location="cpu", weights_only=False)["modules"]["model"]


@pytest.fixture(scope="module")
def single(assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One process: global batch 4, 2 accumulated micro-batches, 3 steps."""
    out = tmp_path_factory.mktemp("single")
    run_training(config(_toml(assets, out), "lm"))
    return out


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_two_processes_match_one_process(
    mode: str, single: Path, assets: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / mode
    cfg = tmp_path / f"{mode}.toml"
    cfg.write_text(_toml(assets, out, distributed=mode))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = subprocess.run(
        [*cmd, "-m", "antiphon.cli", "train", "lm", str(cfg)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, two = _rows(single / "train.csv"), _rows(out / "train.csv")
    assert [r["step"] for r in two] == ["1", "2", "3"]
    for a, b in zip(one, two, strict=True):
        for key in ("loss", "text_loss", "audio_loss", "grad_norm_lm"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-4), (key, a, b)
    ref, got = _final_model(single), _final_model(out)
    assert ref.keys() == got.keys()
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], rtol=1e-4, atol=1e-5, msg=key)
    assert (out / "export" / "model.safetensors").is_file()  # rank 0 exported
