"""Reconstruction losses for codec training: multi-scale mel and multi-scale STFT.

Pure torch (no torchaudio): a Hann-window STFT and an HTK mel filterbank built here.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Triangular HTK mel filters ``[n_mels, n_fft // 2 + 1]`` (area-normalised like Slaney)."""
    f_max = f_max or sample_rate / 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    mels = torch.linspace(
        float(_hz_to_mel(torch.tensor(f_min))),
        float(_hz_to_mel(torch.tensor(f_max))),
        n_mels + 2,
        dtype=torch.float64,
    )
    hz = _mel_to_hz(mels)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower)
    down = (upper - freqs[None]) / (upper - center)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    fb = fb * (2.0 / (upper - lower))  # equal area per filter
    return fb.float()


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None) -> torch.Tensor:
    """|STFT| of ``[B, 1, T]`` or ``[B, T]`` audio -> ``[B, n_fft // 2 + 1, frames]``."""
    x = x.reshape(-1, x.shape[-1])
    hop = hop or n_fft // 4
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(
        x, n_fft, hop, window=window, center=True, return_complex=True, pad_mode="reflect"
    )
    return spec.abs()


def mel_spectrogram(
    x: torch.Tensor, sample_rate: int, n_fft: int, n_mels: int, hop: int | None = None
) -> torch.Tensor:
    fb = mel_filterbank(sample_rate, n_fft, n_mels).to(x.device, x.dtype)
    return torch.matmul(fb, stft_magnitude(x, n_fft, hop) ** 2)


class MultiScaleMelLoss(nn.Module):
    """Sum over window sizes 2^i of L1 + L2 distances between log-mel spectrograms."""

    def __init__(
        self,
        sample_rate: int,
        scales: tuple[int, ...] = (6, 7, 8, 9, 10, 11),
        n_mels: int = 64,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_ffts = [2**i for i in scales]
        self.n_mels = n_mels
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = pred.new_zeros(())
        for n_fft in self.n_ffts:
            mels = min(self.n_mels, n_fft // 4)
            p = torch.log(mel_spectrogram(pred, self.sample_rate, n_fft, mels) + self.eps)
            t = torch.log(mel_spectrogram(target, self.sample_rate, n_fft, mels) + self.eps)
            total = (
                total + F.l1_loss(p, t) + math.sqrt(max(mels, 1) / self.n_mels) * F.mse_loss(p, t)
            )
        return total / len(self.n_ffts)


class MultiScaleSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1 over several FFT sizes."""

    def __init__(self, n_ffts: tuple[int, ...] = (512, 1024, 2048), eps: float = 1e-7) -> None:
        super().__init__()
        self.n_ffts = n_ffts
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = pred.new_zeros(())
        for n_fft in self.n_ffts:
            p, t = stft_magnitude(pred, n_fft), stft_magnitude(target, n_fft)
            sc = torch.linalg.norm(t - p) / (torch.linalg.norm(t) + self.eps)
            mag = F.l1_loss(torch.log(p + self.eps), torch.log(t + self.eps))
            total = total + sc + mag
        return total / len(self.n_ffts)


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per item (last dim is time)."""
    est = estimate.reshape(-1, estimate.shape[-1]).double()
    ref = reference.reshape(-1, reference.shape[-1]).double()
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    scale = (est * ref).sum(-1, keepdim=True) / ((ref * ref).sum(-1, keepdim=True) + eps)
    target = scale * ref
    noise = est - target
    return 10 * torch.log10(((target**2).sum(-1) + eps) / ((noise**2).sum(-1) + eps))
