"""Is the speech the microphone hears the agent's own voice coming back (echo)?

Until the echo canceller has converged (a few seconds into the first answer), the
agent's voice comes back nearly as loud as it was played, and its transcript is often too
garbled to recognise as the agent's words. Its *loudness contour*, though, follows what
was played, a little later: the log-energy envelope of the input correlates with the
envelope of the played audio at some delay (0-400 ms), while a person's own speech does
not. A double-talk check of this kind needs no transcript and answers within one chunk.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
HOP = RATE // 100  # 10 ms envelope frames
MAX_LAG_S = 0.4
FLOOR_DB = -70.0


def envelope(audio: np.ndarray) -> np.ndarray:
    """Log energy (dB, floored) of consecutive 10 ms frames."""
    n = len(audio) // HOP
    frames = audio[: n * HOP].reshape(n, HOP).astype(np.float64)
    return np.maximum(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12), FLOOR_DB)


def echo_likeness(near: np.ndarray, far: np.ndarray) -> float:
    """Peak correlation (-1..1) between the envelope of ``near`` (the input) and the
    envelope of ``far`` (what was played) delayed by 0..MAX_LAG_S. ``far`` ends where
    ``near`` ends and is MAX_LAG_S longer. 0 when nothing was played."""
    e_near = envelope(near)
    e_far = envelope(far)
    lags = len(e_far) - len(e_near)
    if len(e_near) < 10 or lags < 0 or float(e_far.max()) <= FLOOR_DB + 20:
        return 0.0
    a = e_near - e_near.mean()
    na = float(np.sqrt(np.sum(a**2)))
    if na < 1e-9:
        return 0.0
    best = 0.0
    for lag in range(lags + 1):  # far delayed by `lag` frames lines up with near
        seg = e_far[lags - lag : lags - lag + len(e_near)]
        b = seg - seg.mean()
        nb = float(np.sqrt(np.sum(b**2)))
        if nb > 1e-9:
            best = max(best, float(np.dot(a, b)) / (na * nb))
    return best
