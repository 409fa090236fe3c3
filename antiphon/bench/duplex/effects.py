"""Acoustic effects for scenarios: speech levels, and the far-field recipe of
Full-Duplex-Bench v1.5 for speech that is not addressed to the agent (lower level,
band-limited, reverberant), plus the room path of the agent's own voice back into the
microphone (echo)."""

from __future__ import annotations

import numpy as np
from scipy import signal

USER_LEVEL_DBFS = -26.0  # RMS of the user's voiced speech at the microphone


def rms_db(audio: np.ndarray) -> float:
    """RMS level in dBFS of the louder half of 20 ms frames (speech, not its pauses)."""
    hop = 320
    n = len(audio) // hop
    if n == 0:
        return -120.0
    frames = np.mean(audio[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)
    loud = np.sort(frames)[n // 2 :]
    return float(10 * np.log10(max(float(np.mean(loud)), 1e-12)))


def at_level(audio: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale speech so its voiced RMS is ``dbfs``."""
    if not len(audio):
        return audio.astype(np.float32)
    gain = 10 ** ((dbfs - rms_db(audio)) / 20)
    return np.clip(audio * gain, -1.0, 1.0).astype(np.float32)


def room_ir(rng: np.random.Generator, rate: int, rt60_s: float, drr_db: float) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then exponentially decaying noise
    (-60 dB after rt60_s) at ``drr_db`` below the direct path's energy."""
    n = max(1, int(rt60_s * rate))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.003 * rate)] = 0.0  # first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(float(np.sum(tail**2)), 1e-12))
    tail[0] += 1.0
    return tail.astype(np.float32)


def far_field(
    audio: np.ndarray, rate: int, rng: np.random.Generator, level_dbfs: float, rt60_s: float
) -> np.ndarray:
    """Speech from across the room: band-limited (150 Hz - 3.6 kHz), reverberant (direct to
    reverberant ratio 0-6 dB), at ``level_dbfs``."""
    sos = signal.butter(4, [150, 3600], btype="bandpass", fs=rate, output="sos")
    band = signal.sosfilt(sos, audio).astype(np.float32)
    ir = room_ir(rng, rate, rt60_s, drr_db=float(rng.uniform(0.0, 6.0)))
    wet = signal.fftconvolve(band, ir)[: len(audio) + int(0.3 * rate)]
    return at_level(wet.astype(np.float32), level_dbfs)


def echo_ir(rng: np.random.Generator, rate: int, delay_ms: float, gain_db: float) -> np.ndarray:
    """Loudspeaker → microphone path: a delay, a gain and a short, dry room (RT60 0.15 s)."""
    ir = room_ir(rng, rate, 0.15, drr_db=10.0) * 10 ** (gain_db / 20)
    return np.concatenate([np.zeros(int(delay_ms * rate / 1000), np.float32), ir])
