"""Codec training: random mono crops from both channels of the dataset's dialogues, the losses
of ``antiphon.codec.train_step.CodecTrainer`` (mel, STFT, commitment, adversarial, feature
matching, distillation), and codec metrics (SI-SDR, mel distance, STOI) on held-out clips.

The generator and the discriminator are updated together from one backward pass: the
discriminator's hinge loss sees the reconstruction detached, and the generator's adversarial
and feature terms go through the discriminator with its weights detached, so each optimiser
only receives its own gradients (and DDP sees a single forward per module).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch import nn

from antiphon.audio.io import resample
from antiphon.codec.checkpoint import load_mimi, save_mimi
from antiphon.codec.config import MimiConfig
from antiphon.codec.discriminator import (
    MultiScaleSTFTDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from antiphon.codec.metrics import mel_distance, si_sdr_db, stoi
from antiphon.codec.model import MimiModel
from antiphon.codec.train_step import CodecTrainer, LossWeights
from antiphon.data.manifest import DialogueRecord, ManifestError, load_manifest
from antiphon.train.config import CodecLossConfig, TrainConfig, TrainConfigError
from antiphon.train.distributed import unwrap
from antiphon.train.sampling import ItemRef

MIMI_FILE = "mimi.safetensors"
ACTIVE_RMS = 10 ** (-50 / 20)  # -50 dBFS


def codec_model_config(cfg: TrainConfig) -> MimiConfig:
    """The preset ("tiny": 24 kHz / 12.5 Hz at toy width, "mimi": the released size) with
    ``[model.overrides]`` merged in (nested tables for seanet/transformer/quantizer)."""
    from antiphon.e2e.random_checkpoint import tiny_mimi_config

    presets: dict[str, Callable[[], MimiConfig]] = {"tiny": tiny_mimi_config, "mimi": MimiConfig}
    if cfg.model.preset not in presets:
        raise TrainConfigError(
            f"{cfg.source}: model.preset {cfg.model.preset!r} is not a codec preset"
            f" (known: {', '.join(presets)})"
        )
    base = presets[cfg.model.preset]().to_dict()
    merged = _merge(base, cfg.model.overrides, "model.overrides", cfg.source)
    try:
        return MimiConfig.from_dict(merged)
    except (ValueError, TypeError) as exc:
        raise TrainConfigError(f"{cfg.source}: model.overrides: {exc}") from exc


def _merge(base: dict[str, Any], over: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key not in out:
            raise TrainConfigError(f"{source}: unknown key {where}.{key} (known: {', '.join(out)})")
        if isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _merge(out[key], value, f"{where}.{key}", source)
        else:
            out[key] = value
    return out


def read_channel(
    root: Path, rec: DialogueRecord, channel: int, start: int, frames: int
) -> np.ndarray:
    """``frames`` samples of one channel from ``start`` (zero-padded past the end)."""
    data, _ = sf.read(
        str(rec.audio_path(root)), start=start, frames=frames, dtype="float32", always_2d=True
    )
    out = np.zeros(frames, np.float32)
    out[: data.shape[0]] = data[:, channel]
    return out


class CodecData:
    """Mono items = (dialogue, channel) pairs of one split; crops resampled to the codec rate."""

    def __init__(self, dataset: str | Path, split: str, sample_rate: int) -> None:
        self.root = Path(dataset)
        records = [r for r in load_manifest(self.root) if r.split == split]
        self.examples = [(r, ch) for r in records for ch in (0, 1)]
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.examples)

    def crop(self, ref: ItemRef, seconds: float, tries: int = 8) -> np.ndarray:
        """A random crop with signal in it: each channel of a dialogue is silent while the
        other party talks, and an all-silent batch makes the spectral-convergence loss
        divide by ~0. Up to ``tries`` offsets (from the item's own generator) are drawn;
        the first above -50 dBFS wins, else the loudest."""
        rec, ch = self.examples[ref.index]
        src_len = int(round(seconds * rec.sample_rate))
        rng = ref.rng()
        best, best_rms = np.zeros(src_len, np.float32), -1.0
        for _ in range(tries):
            start = int(rng.integers(0, max(rec.num_samples - src_len, 0) + 1))
            audio = read_channel(self.root, rec, ch, start, src_len)
            rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
            if rms > best_rms:
                best, best_rms = audio, rms
            if rms > ACTIVE_RMS:
                break
        return _fit(
            resample(best, rec.sample_rate, self.sample_rate),
            int(round(seconds * self.sample_rate)),
        )

    def loudest_clip(self, index: int, seconds: float) -> np.ndarray:
        """The window of ``seconds`` with the most energy (held-out evaluation clips)."""
        rec, ch = self.examples[index]
        audio = read_channel(self.root, rec, ch, 0, rec.num_samples)
        n, hop = int(round(seconds * rec.sample_rate)), rec.sample_rate // 4
        energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
        starts = np.arange(0, max(len(audio) - n, 0) + 1, hop)
        best = int(starts[np.argmax(energy[np.minimum(starts + n, len(audio))] - energy[starts])])
        clip = resample(audio[best : best + n], rec.sample_rate, self.sample_rate)
        return _fit(clip, int(round(seconds * self.sample_rate)))


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    return audio[:n] if len(audio) >= n else np.pad(audio, (0, n - len(audio)))


class CodecTask:
    kind = "codec"

    def __init__(self, cfg: TrainConfig) -> None:
        if not isinstance(cfg.loss, CodecLossConfig):
            raise TypeError("CodecTask needs a codec config")
        self.cfg, self.loss_cfg = cfg, cfg.loss
        self.mimi_config = codec_model_config(cfg)
        sr = self.mimi_config.sample_rate
        try:
            self.train_data = CodecData(cfg.data.dataset, cfg.data.train_split, sr)
            self.eval_data = CodecData(cfg.data.dataset, cfg.data.eval_split, sr)
        except ManifestError as exc:
            raise TrainConfigError(f"{cfg.source}: data.dataset: {exc}") from exc
        if not len(self.train_data):
            raise TrainConfigError(
                f"{cfg.source}: dataset {cfg.data.dataset} has no {cfg.data.train_split!r} dialogues"
            )
        self.helper: CodecTrainer | None = None
        self.optimizer_groups = {"generator": ["model", "head"], "discriminator": ["discriminator"]}

    @property
    def num_examples(self) -> int:
        return len(self.train_data)

    def build(self, device: torch.device) -> dict[str, nn.Module]:
        lc = self.loss_cfg
        model = MimiModel(self.mimi_config)
        if self.cfg.model.init:  # fine-tune: e.g. the released Mimi with preset = "mimi"
            try:
                model = load_mimi(self.cfg.model.init, self.mimi_config).train()
            except (OSError, ValueError) as exc:
                raise TrainConfigError(f"{self.cfg.source}: model.init: {exc}") from exc
        disc = None
        if lc.discriminator:
            disc = MultiScaleSTFTDiscriminator(filters=lc.discriminator_filters)
        teacher = None
        if lc.teacher == "whisper":
            from antiphon.codec.distill import WhisperEncoderTeacher

            teacher = WhisperEncoderTeacher()
        fields = {k: v for k, v in asdict(lc).items() if k in LossWeights.__dataclass_fields__}
        self.helper = CodecTrainer(model, LossWeights(**fields), disc, teacher)
        self.helper.mel_loss.to(device)
        self.helper.stft_loss.to(device)
        modules: dict[str, nn.Module] = {"model": model}
        if disc is not None:
            modules["discriminator"] = disc
        if self.helper.head is not None:
            modules["head"] = self.helper.head
        return modules

    def batch(self, refs: list[ItemRef], device: torch.device) -> torch.Tensor:
        clips = [self.train_data.crop(r, self.cfg.data.crop_seconds) for r in refs]
        return torch.from_numpy(np.stack(clips)).unsqueeze(1).to(device)

    def loss(
        self, modules: dict[str, nn.Module], audio: torch.Tensor, env: Any = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        h = self.helper
        assert h is not None, "build() first"
        w = h.weights
        result = modules["model"](audio)
        recon = result.x
        terms: dict[str, torch.Tensor] = {
            "mel": h.mel_loss(recon, audio),
            "stft": h.stft_loss(recon, audio),
            "commitment": result.penalty,
        }
        logs: dict[str, torch.Tensor] = {}
        d_loss = audio.new_zeros(())
        if "discriminator" in modules:
            b = audio.shape[0]
            logits, feats = modules["discriminator"](torch.cat([audio, recon.detach()]))
            d_loss = discriminator_hinge_loss([lg[:b] for lg in logits], [lg[b:] for lg in logits])
            raw = unwrap(modules["discriminator"])
            frozen = {n: p.detach() for n, p in raw.named_parameters()}
            g_logits, g_feats = torch.func.functional_call(raw, frozen, (recon,))
            terms["adversarial"] = generator_adversarial_loss(g_logits)
            terms["feature"] = feature_matching_loss([[f[:b] for f in fs] for fs in feats], g_feats)
            logs["d_hinge"] = d_loss.detach()
        if h.head is not None and result.semantic is not None:
            terms["distill"] = modules["head"](result.semantic, h._teacher_features(audio))
        g_total = sum((getattr(w, k) * v for k, v in terms.items()), audio.new_zeros(()))
        logs.update({k: v.detach() for k, v in terms.items()})
        logs["loss"] = g_total.detach()
        for key in ("rvq_entropy", "rvq_expired"):
            if key in result.metrics:
                logs[key] = torch.as_tensor(result.metrics[key], dtype=torch.float32).detach()
        return g_total + d_loss, logs

    @torch.no_grad()
    def evaluate(self, modules: dict[str, nn.Module], device: torch.device) -> dict[str, float]:
        n = min(self.cfg.data.eval_items, len(self.eval_data))
        if n == 0:
            return {}
        model = unwrap(modules["model"])
        assert isinstance(model, MimiModel)
        was_training = model.training
        model.eval()
        sums: dict[str, list[float]] = {}
        sr = self.mimi_config.sample_rate
        for i in range(n):
            ref = self.eval_data.loudest_clip(i, self.cfg.data.eval_seconds)
            x = torch.from_numpy(ref).view(1, 1, -1).to(device)
            out = model.decode(model.encode(x))[0, 0, : len(ref)].float().cpu().numpy()
            scores = {
                "si_sdr": si_sdr_db(out, ref),
                "mel_distance": mel_distance(out, ref, sr),
                "stoi": stoi(out, ref, sr),
            }
            for k, v in scores.items():
                if v is not None and np.isfinite(v):
                    sums.setdefault(k, []).append(float(v))
        model.train(was_training)
        return {k: float(np.mean(v)) for k, v in sums.items()}

    def export(self, states: dict[str, dict[str, torch.Tensor]], folder: Path) -> Path:
        """``folder/mimi.safetensors`` (+ ``.json``), readable by ``load_mimi``."""
        model = MimiModel(self.mimi_config)
        model.load_state_dict(states["model"])
        path = save_mimi(model, folder / MIMI_FILE)
        load_mimi(path)  # fail here, not at serving time, if it does not read back
        return path
