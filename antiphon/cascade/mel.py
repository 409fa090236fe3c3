"""Whisper-style log-mel features in numpy (what smart-turn v3 was trained on).

Matches ``transformers.WhisperFeatureExtractor`` (and pipecat's vendored copy used with
smart-turn): 25 ms periodic-Hann frames every 10 ms, centred with reflect padding, power
spectrum, 80 Slaney-normalised mel bands from 0 to 8 kHz, log10 floored at 1e-10, dynamic
range clamped to 8 (decades) below the maximum, then scaled as (x + 4) / 4. The last STFT
frame is dropped so that N seconds give exactly 100*N frames.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = 3.0 * hz / 200.0
    log = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = 200.0 * mel / 3.0
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log, linear)


@functools.lru_cache(maxsize=4)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(n_fft//2 + 1, n_mels) triangular filters, each normalised to unit area (Slaney)."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    bins = np.linspace(0.0, sr // 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    tri = np.maximum(0.0, np.minimum(rising, falling))
    fb = tri * (2.0 / (upper - lower))
    fb.setflags(write=False)
    return fb


@functools.lru_cache(maxsize=2)
def _hann(n: int) -> np.ndarray:
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic, like torch.hann_window
    w.setflags(write=False)
    return w


def log_mel(audio: np.ndarray, n_mels: int = N_MELS, normalize: bool = True) -> np.ndarray:
    """(n_mels, len(audio) // HOP) float32 Whisper log-mel features of 16 kHz audio.

    ``normalize`` applies the zero-mean unit-variance waveform normalisation that
    WhisperFeatureExtractor's ``do_normalize=True`` does (smart-turn uses it).
    """
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if x.size < N_FFT:
        raise ValueError(f"need at least {N_FFT} samples for log-mel features; got {x.size}")
    if normalize:  # in float32, as the reference does before the STFT promotes to float64
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(N_FFT), axis=-1)) ** 2  # (frames, bins)
    mel = np.maximum(power @ mel_filterbank(n_mels), 1e-10)
    logspec = np.log10(mel).T[:, :-1]
    logspec = np.maximum(logspec, logspec.max() - 8.0)
    return ((logspec + 4.0) / 4.0).astype(np.float32)
