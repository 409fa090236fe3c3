"""Silence at the edges of a clip, measured in 10 ms frames against the clip's own peak."""

from __future__ import annotations

import numpy as np

SILENT_RMS = 1e-5  # a clip whose loudest frame is quieter than this has no sound at all


def trim_edges(
    audio: np.ndarray,
    rate: int,
    lead_ms: float | None,
    tail_ms: float | None,
    floor_db: float = -40.0,
) -> np.ndarray:
    """``audio`` with at most ``lead_ms`` before its first and ``tail_ms`` after its last
    10 ms frame louder than ``floor_db`` below the peak (None leaves that edge as it is).
    A clip with no such frame comes back empty."""
    hop = max(1, rate // 100)
    n = len(audio) // hop
    if n == 0:
        return audio.astype(np.float32)
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms / (rms.max() + 1e-12)) > floor_db)[0]
    if not len(loud) or rms.max() < SILENT_RMS:
        return np.zeros(0, np.float32)
    start, end = 0, len(audio)
    if lead_ms is not None:
        start = max(0, int(loud[0]) * hop - int(rate * lead_ms / 1000))
    if tail_ms is not None:
        end = min(len(audio), (int(loud[-1]) + 1) * hop + int(rate * tail_ms / 1000))
    return audio[start:end].astype(np.float32)
