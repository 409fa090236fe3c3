"""Audio file and PCM conversions at the engine's edges (inside: mono float32)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


class AudioFormatError(ValueError):
    """Audio that cannot be used as given (wrong rate, shape, values)."""


def to_mono_float32(audio: np.ndarray) -> np.ndarray:
    """Accept int16 or float arrays, mono (n,) or (n, channels); return float32 mono."""
    a = np.asarray(audio)
    if a.ndim == 2:
        a = a.mean(axis=1) if a.shape[1] <= 8 else a.mean(axis=0)
    elif a.ndim != 1:
        raise AudioFormatError(f"audio must be 1-D or (samples, channels); got shape {a.shape}")
    if a.dtype == np.int16:
        return (a.astype(np.float32) / 32768.0).copy()
    if not np.issubdtype(a.dtype, np.floating):
        raise AudioFormatError(f"audio dtype {a.dtype} not supported; use int16 or float32")
    out = a.astype(np.float32, copy=True)
    if not np.all(np.isfinite(out)):
        raise AudioFormatError("audio contains NaN or infinite samples")
    return out


def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    if src_rate == dst_rate:
        return audio.astype(np.float32, copy=False)
    if src_rate <= 0 or dst_rate <= 0:
        raise AudioFormatError(f"invalid sample rates {src_rate} -> {dst_rate}")
    return soxr.resample(audio, src_rate, dst_rate, quality="HQ").astype(np.float32)


class StreamResampler:
    """Stateful chunk-by-chunk resampler (no clicks at chunk boundaries)."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._rs = (
            None
            if src_rate == dst_rate
            else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32", quality="HQ")
        )

    def __call__(self, audio: np.ndarray, last: bool = False) -> np.ndarray:
        if self._rs is None:
            return audio.astype(np.float32, copy=False)
        return self._rs.resample_chunk(audio.astype(np.float32, copy=False), last=last)


def read_wav(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read any soundfile-readable file as mono float32, optionally resampled."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFormatError(f"cannot read audio file {path}: {exc}") from exc
    mono = data.mean(axis=1).astype(np.float32)
    if sample_rate is not None and rate != sample_rate:
        return resample(mono, rate, sample_rate), sample_rate
    return mono, rate


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")


def float_to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def pcm16_to_float(data: bytes) -> np.ndarray:
    if len(data) % 2:
        raise AudioFormatError(f"PCM16 data must have an even byte count; got {len(data)} bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def rms_dbfs(audio: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))
