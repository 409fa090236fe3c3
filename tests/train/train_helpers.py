"""A tiny dialogue dataset in the contract's layout, a tiny Mimi, and micro configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from antiphon.codec.checkpoint import save_mimi
from antiphon.codec.model import MimiModel
from antiphon.data.manifest import DialogueRecord, Turn, Word, write_dataset
from antiphon.e2e.random_checkpoint import tiny_mimi_config
from antiphon.train.config import Kind, TrainConfig, parse_config

RATE = 24_000
AGENT = ["hello", "there", "how", "can", "I", "help", "you", "today"]
USER = ["what", "time", "is", "it", "please"]


def _tone(word: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A word-specific chord with an envelope: learnable structure, not speech."""
    t = np.arange(int(seconds * RATE)) / RATE
    base = 150 + 40 * (sum(map(ord, word)) % 11)
    x = sum(np.sin(2 * np.pi * base * h * t) / h for h in (1, 2, 3))
    env = np.sin(np.pi * np.linspace(0, 1, len(t))) ** 0.5
    return (0.25 * x * env + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def make_dialogue(i: int, seconds: float, split: str, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    n = int(seconds * RATE)
    stereo = np.zeros((n, 2), np.float32)
    words: dict[str, list[Word]] = {"agent": [], "user": []}
    turns = []
    t, speaker = 0.2, "user" if i % 2 else "agent"
    while t < seconds - 1.0:
        vocab = AGENT if speaker == "agent" else USER
        start, said = t, []
        for _ in range(int(rng.integers(2, 5))):
            w = vocab[int(rng.integers(len(vocab)))]
            dur = 0.25 + 0.05 * len(w)
            if t + dur > seconds - 0.1:
                break
            a = int(t * RATE)
            chunk = _tone(w, dur, rng)
            stereo[a : a + len(chunk), 0 if speaker == "agent" else 1] += chunk
            words[speaker].append(Word(w, round(t, 3), round(t + dur, 3)))
            said.append(w)
            t += dur + 0.05
        if said:
            turns.append(Turn(speaker, " ".join(said), round(start, 3), round(t, 3)))
        t += 0.3
        speaker = "user" if speaker == "agent" else "agent"
    rec = DialogueRecord(
        id=f"d{i:05d}",
        audio=f"audio/d{i:05d}.wav",
        num_samples=n,
        turns=tuple(turns),
        words={k: tuple(v) for k, v in words.items()},
        voices={"agent": "tone-a", "user": "tone-b"},
        split=split,
    )
    return rec, stereo


def make_dataset(root: Path, train: int = 4, heldout: int = 1, seconds: float = 4.0) -> Path:
    rng = np.random.default_rng(0)
    items = [make_dialogue(i, seconds, "train", rng) for i in range(train)]
    items += [make_dialogue(train + i, seconds, "heldout", rng) for i in range(heldout)]
    return write_dataset(root, items, {"dialogues": len(items)})


def make_codec(path: Path, seed: int = 0) -> Path:
    """A tiny random Mimi at the LM's rates (8 codebooks of 64), distinct codebook centroids."""
    torch.manual_seed(seed)
    mimi = MimiModel(tiny_mimi_config(8, 64))
    g = torch.Generator().manual_seed(seed)
    for cb in mimi.quantizer.codebooks():
        cb.embedding_sum.copy_(torch.randn(cb.embedding_sum.shape, generator=g))
    mimi.quantizer.invalidate()
    return save_mimi(mimi, path)


def lm_toml(assets: dict[str, Path], out: Path, **run: object) -> str:
    r = {"steps": 4, "batch_size": 4, "log_every": 1, "progress": False} | run
    run_lines = "\n".join(f"{k} = {_toml(v)}" for k, v in r.items())
    return f"""
[data]
dataset = "{assets["dataset"]}"
codec = "{assets["codec"]}"
tokenizer = "{assets["tokenizer"]}"
cache_dir = "{assets["root"] / "codes"}"
frames = 16
eval_items = 1

[model]
preset = "tiny"
[model.overrides]
dim = 32
num_heads = 2
num_layers = 1
text_card = 128

[optim]
lr = 3e-3
warmup_steps = 1

[run]
out_dir = "{out}"
{run_lines}
"""


def codec_toml(assets: dict[str, Path], out: Path, **run: object) -> str:
    r = {"steps": 4, "batch_size": 2, "log_every": 1, "progress": False} | run
    run_lines = "\n".join(f"{k} = {_toml(v)}" for k, v in r.items())
    return f"""
[data]
dataset = "{assets["dataset"]}"
crop_seconds = 0.32
eval_seconds = 1.0
eval_items = 1

[model]
preset = "tiny"

[optim]
lr = 3e-3
betas = [0.5, 0.9]
weight_decay = 0.0

[loss]
discriminator_filters = 4

[run]
out_dir = "{out}"
{run_lines}
"""


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def config(text: str, kind: Kind) -> TrainConfig:
    return parse_config(text, kind, "test.toml")
