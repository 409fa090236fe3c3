"""Training loops of the mel codec: the student vocoder, then the codec's encoder and mel head.

* Student: the causal SEANet decoder learns to render the teacher HiFi-GAN's output from the
  same mel (multi-scale mel + STFT losses on the 22,400 Hz audio). No discriminator: the
  teacher's waveform is a fixed target, not a distribution.
* Codec: audio -> codes -> predicted log-mel, L1 against the vocoder's mel of the input,
  plus the RVQ commitment and the semantic codebook's Whisper distillation. The student is
  frozen (its output is trained on the teacher's).
* Fine-tune: the student again, now from the mels the trained codec decodes from its own
  codes (aligned frame for frame with the true mel) to the teacher's rendering of the true
  mel, so that it renders what the codec actually gives it (as vocoders are fine-tuned on a
  TTS model's predicted mels).

Both loops stop at ``steps`` or at a wall-clock deadline, whichever comes first.
"""

from __future__ import annotations

import csv
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from antiphon.codec.distill import DistillationHead
from antiphon.codec.losses import MultiScaleMelLoss, MultiScaleSTFTLoss
from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_data import FRAME_24K, FRAME_VOC, MelClip
from antiphon.codec.seanet import SeanetDecoder

WHISPER_PER_FRAME = 4  # 50 Hz encoder features per 12.5 Hz frame


@dataclass(frozen=True)
class LoopConfig:
    steps: int = 2000
    batch_size: int = 8
    crop_frames: int = 10  # 0.8 s
    lr: float = 1e-3
    deadline_s: float | None = None
    log_every: int = 20
    seed: int = 0


def _crops(
    clips: Sequence[MelClip], cfg: LoopConfig, rng: random.Random
) -> list[tuple[MelClip, int]]:
    out = []
    for _ in range(cfg.batch_size):
        clip = rng.choice(clips)
        frames = clip.audio.numel() // FRAME_24K
        start = rng.randrange(0, max(1, frames - cfg.crop_frames + 1))
        out.append((clip, start))
    return out


def _fit(x: torch.Tensor, n: int, value: float = 0.0) -> torch.Tensor:
    return x[..., :n] if x.shape[-1] >= n else F.pad(x, (0, n - x.shape[-1]), value=value)


class _Logger:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.rows: list[dict[str, float]] = []

    def log(self, row: dict[str, float]) -> None:
        self.rows.append(row)
        print(" ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
        if self.path is not None:
            new = not self.path.is_file()
            with self.path.open("a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    w.writeheader()
                w.writerow(row)


def train_student(
    student: SeanetDecoder, clips: Sequence[MelClip], cfg: LoopConfig, log: Path | None = None
) -> list[dict[str, float]]:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    for p in student.parameters():  # frozen while a codec trained around it
        p.requires_grad_(True)
    mel_loss = MultiScaleMelLoss(22_400, scales=(7, 8, 9, 10))
    stft_loss = MultiScaleSTFTLoss(n_ffts=(512, 1024))
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, betas=(0.8, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    logger, t0 = _Logger(log), time.monotonic()
    student.train()
    for step in range(1, cfg.steps + 1):
        batch = _crops(clips, cfg, rng)
        n = cfg.crop_frames
        mel = torch.stack([_fit(c.mel[:, s * 7 : (s + n) * 7], n * 7) for c, s in batch])
        target = torch.stack(
            [_fit(c.teacher[s * FRAME_VOC : (s + n) * FRAME_VOC], n * FRAME_VOC) for c, s in batch]
        )[:, None]
        pred = student(mel)
        lm, ls = mel_loss(pred, target), stft_loss(pred, target)
        loss = lm + ls
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 10.0)
        opt.step()
        sched.step()
        elapsed = time.monotonic() - t0
        if step % cfg.log_every == 0 or step == cfg.steps:
            logger.log({"step": step, "mel": lm.item(), "stft": ls.item(), "seconds": elapsed})
        if cfg.deadline_s is not None and elapsed > cfg.deadline_s:
            logger.log({"step": step, "mel": lm.item(), "stft": ls.item(), "seconds": elapsed})
            break
    student.eval()
    return logger.rows


@torch.no_grad()
def with_codec_mels(model: MelCodec, clips: Sequence[MelClip]) -> list[MelClip]:
    """``clips`` whose ``mel`` is what ``model`` decodes from its codes of the clip's audio."""
    model.eval()
    out = []
    for c in clips:
        mel = model.decode_mel(model.encode(c.audio.view(1, 1, -1)))[0]
        out.append(replace(c, mel=_fit(mel, c.mel.shape[-1])))
    return out


def train_mel_codec(
    model: MelCodec,
    clips: Sequence[MelClip],
    cfg: LoopConfig,
    log: Path | None = None,
    distill_weight: float = 1.0,
) -> list[dict[str, float]]:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    for p in model.mel_decoder.vocoder.parameters():  # the student is trained on its own
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    head = None
    teacher_dim = next((c.whisper.shape[-1] for c in clips if c.whisper is not None), None)
    if teacher_dim is not None:
        head = DistillationHead(model.config.seanet.dimension, int(teacher_dim))
        params += list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.8, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    logger, t0 = _Logger(log), time.monotonic()
    model.train()
    n = cfg.crop_frames
    for step in range(1, cfg.steps + 1):
        batch = _crops(clips, cfg, rng)
        audio = torch.stack(
            [_fit(c.audio[s * FRAME_24K : (s + n) * FRAME_24K], n * FRAME_24K) for c, s in batch]
        )[:, None]
        # Padding past a clip's end is silence: its log-mel is the floor, not zeros.
        floor = math.log(model.mel_config.mel.clamp_min)
        target = torch.stack([_fit(c.mel[:, s * 7 : (s + n) * 7], n * 7, floor) for c, s in batch])
        q = model.forward_mel(audio)
        l1 = F.l1_loss(q.x, target)
        loss = l1 + q.penalty
        row = {"step": float(step), "mel_l1": l1.item(), "commitment": q.penalty.item()}
        if head is not None:
            row["distill"] = math.nan  # no item of this batch has teacher features
        has = [c.whisper is not None for c, _ in batch]
        if head is not None and q.semantic is not None and any(has):
            feats = []
            for c, s in batch:
                if c.whisper is None:
                    continue
                seg = c.whisper[s * WHISPER_PER_FRAME : (s + n) * WHISPER_PER_FRAME].float()
                feats.append(_fit(seg.T, n * WHISPER_PER_FRAME).T)
            distill = head(q.semantic[torch.tensor(has)], torch.stack(feats))
            loss = loss + distill_weight * distill
            row["distill"] = distill.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        sched.step()
        elapsed = time.monotonic() - t0
        row["seconds"] = elapsed
        if step % cfg.log_every == 0 or step == cfg.steps:
            logger.log(row)
        if cfg.deadline_s is not None and elapsed > cfg.deadline_s:
            logger.log(row)
            break
    model.eval()
    return logger.rows
