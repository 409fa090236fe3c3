"""The tiny recipe's codec stage for the mel codec: features, student vocoder, codec.

Each step leaves a file behind and is skipped when its file exists, so an interrupted stage
resumes where it stopped (a training step interrupted mid-way starts that step again):

* ``features.pt``: target mels for every turn, teacher renderings and Whisper features for a
  share of the training turns (``mel_data.build_cache``);
* ``student.safetensors``: the causal student vocoder trained on the teacher's output;
* ``codec.safetensors``: the mel codec (log-mel front end, RVQ, mel head) trained with that
  student frozen inside;
* ``export/mimi.safetensors``: that codec after its student was fine-tuned on the codec's own
  mels (the file the recipe's later stages read, whatever the codec family).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_checkpoint import load_mel_codec, save_mel_codec
from antiphon.codec.mel_codec_config import (
    MelCodecConfig,
    student_vocoder_config,
    tiny_mel_codec_config,
)
from antiphon.codec.mel_data import MelClip, build_cache
from antiphon.codec.mel_train import (
    LoopConfig,
    train_mel_codec,
    train_student,
    with_codec_mels,
)
from antiphon.codec.seanet import SeanetDecoder
from antiphon.codec.vocoder import load_vocoder


@dataclass(frozen=True)
class MelStagePlan:
    # the codec learns from the first 150 dialogues' turns; the data stage makes more for the
    # LM (4x took its held-out text perplexity from 85 to 9-17, docs/training.md), while the
    # codec's steps are what is scarce and its features stage grows with every turn
    dialogues: int | None = 150
    teacher_clips: int = 160  # training turns the teacher renders (~0.5-0.8x real time)
    whisper_clips: int = 400
    # short crops: the student's receptive field is ~40 ms, and its steps are what is scarce
    student: LoopConfig = LoopConfig(steps=7000, batch_size=6, crop_frames=3, lr=2e-3)
    # lr 1e-3: at 2e-3 the codec's codebooks collapsed to 2-4 codes and it learned the constant
    # mel in 4 of 5 runs (held-out log-mel L1 2.6-2.8, the median's 2.82); at 1e-3 it fell
    # to 0.95 in 900 steps (docs/codec.md, 2026-12-07)
    codec: LoopConfig = LoopConfig(steps=12000, batch_size=8, crop_frames=10, lr=1e-3)
    # the student on the codec's own mels: Whisper WER 51 -> 26 % in 2000 steps (docs/codec.md)
    finetune: LoopConfig = LoopConfig(steps=1500, batch_size=6, crop_frames=3, lr=5e-4)
    student_share: float = 0.45  # of the training time left after the features
    finetune_share: float = 0.1


def recipe_config() -> MelCodecConfig:
    """The CPU recipe's codec: the log-mel front-end encoder (a codec step costs a quarter of
    the SEANet encoder's and learns more per step: docs/codec.md)."""
    return tiny_mel_codec_config(encoder="mel")


MICRO_PLAN = MelStagePlan(
    teacher_clips=3,
    whisper_clips=0,
    student=LoopConfig(steps=4, batch_size=2, crop_frames=4, log_every=2),
    codec=LoopConfig(steps=4, batch_size=2, crop_frames=4, log_every=2),
    finetune=LoopConfig(steps=2, batch_size=2, crop_frames=4, log_every=2),
)


def micro_config() -> MelCodecConfig:
    """The micro recipe's codec: 64-entry codebooks (its LM's card), a narrow student."""
    return replace(
        tiny_mel_codec_config(bins=64, encoder="mel"),
        head_hidden=64,
        front_hidden=32,
        vocoder=student_vocoder_config(8, 1),
    )


def _with_deadline(cfg: LoopConfig, seconds: float) -> LoopConfig:
    return replace(cfg, deadline_s=max(1.0, seconds))


@torch.no_grad()
def heldout_mel_l1(model: MelCodec, clips: list[MelClip], limit: int = 32) -> float:
    """Mean |predicted - target| log-mel over held-out turns (decoded from the codes)."""
    errs = []
    for clip in clips[:limit]:
        codes = model.encode(clip.audio.view(1, 1, -1))
        pred = model.decode_mel(codes)[0]
        n = min(pred.shape[-1], clip.mel.shape[-1])
        errs.append(float(F.l1_loss(pred[:, :n], clip.mel[:, :n])))
    return sum(errs) / max(1, len(errs))


def run_mel_codec_stage(
    data_dir: Path,
    out: Path,
    deadline: float,
    plan: MelStagePlan | None = None,
    config: MelCodecConfig | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the mel codec into ``out/export/mimi.safetensors`` before ``deadline``."""
    plan = plan or MelStagePlan()
    cfg = config or recipe_config()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    vocoder = load_vocoder()
    clips = build_cache(
        data_dir,
        out / "features.pt",
        vocoder,
        plan.teacher_clips,
        plan.whisper_clips,
        plan.dialogues,
    )
    train = [c for c in clips if c.split == "train"]
    heldout = [c for c in clips if c.split != "train"]
    with_teacher = [c for c in train if c.teacher.numel()]
    log(f"[mel codec] features: {len(train)} train / {len(heldout)} held-out turns,"
        f" {len(with_teacher)} rendered by the teacher ({time.monotonic() - t0:.0f} s)")  # fmt: skip
    left = deadline - time.monotonic()
    model = MelCodec(cfg)
    student: SeanetDecoder = model.mel_decoder.vocoder
    student_file = out / "student.safetensors"
    if student_file.is_file():
        student.load_state_dict(load_file(str(student_file)))
    else:
        train_student(student, with_teacher, _with_deadline(plan.student, left *
                      plan.student_share), out / "student-train.csv")  # fmt: skip
        save_file({k: v.contiguous() for k, v in student.state_dict().items()}, str(student_file))
    export = out / "export" / "mimi.safetensors"
    codec_file = out / "codec.safetensors"
    rows: list[dict[str, float]] = []
    if export.is_file():
        model = load_mel_codec(export)
    else:
        if codec_file.is_file():
            model = load_mel_codec(codec_file)
        else:
            codec_deadline = deadline - left * plan.finetune_share
            codec_cfg = _with_deadline(plan.codec, codec_deadline - time.monotonic())
            rows = train_mel_codec(model, train, codec_cfg, out / "train.csv")
            save_mel_codec(model, codec_file)
        log("[mel codec] fine-tuning the student on the codec's mels")
        tuned = with_codec_mels(model, with_teacher)
        train_student(model.mel_decoder.vocoder, tuned, _with_deadline(plan.finetune,
                      deadline - time.monotonic()), out / "finetune-train.csv")  # fmt: skip
        save_mel_codec(model.eval(), export)
    l1 = heldout_mel_l1(model.eval(), heldout)
    (out / "eval.csv").write_text(f"heldout_mel_l1\n{l1:.4f}\n")
    (out / "config.toml").write_text(
        "# mel codec stage (antiphon.codec.mel_recipe); the codec config is in"
        " export/mimi.json\n" + "\n".join(
            f"# {k} = {json.dumps(v)}" for k, v in asdict(plan).items()
        ) + "\n"
    )  # fmt: skip
    return {
        "kind": "mel",
        "step": int(rows[-1]["step"]) if rows else None,
        "heldout_mel_l1": None if math.isnan(l1) else round(l1, 4),
        "teacher_clips": len(with_teacher),
    }
