"""Is the speech the microphone hears the agent's own voice coming back (echo)?

Until the echo canceller has converged (a few seconds into the first answer), the
agent's voice comes back nearly as loud as it was played, and its transcript is often too
garbled to recognise as the agent's words. But echo is what was played passed through the
room, a linear filter: the input and the played audio are coherent at the echo's delay.
The generalised cross-correlation with phase transform (GCC-PHAT) of the two has a sharp
peak there; for a person's own speech it has none. The peak is reported relative to the
correlation's spread, so it does not depend on level. Measured on the benchmark's echo
paths (60-200 ms, -6 to -12 dB, a small room): echo 44-167, a person talking over the
agent 4-17.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
MAX_LAG_S = 0.4  # echo arrives this long after it was played, at most


def echo_peak(near: np.ndarray, far: np.ndarray) -> float:
    """GCC-PHAT peak (over delays 0..MAX_LAG_S) divided by the correlation's standard
    deviation. ``far`` (what was played) ends where ``near`` (the input) ends and is
    MAX_LAG_S longer. 0 when nothing was played."""
    max_lag = len(far) - len(near)
    if max_lag < 0 or len(near) < RATE // 10 or float(np.max(np.abs(far))) < 1e-4:
        return 0.0
    nfft = 1 << (2 * len(far) - 1).bit_length()
    cross = np.fft.rfft(near, nfft) * np.conj(np.fft.rfft(far, nfft))
    r = np.fft.irfft(cross / (np.abs(cross) + 1e-12), nfft)
    # near[i] ~ far[i + max_lag - d] for an echo delayed by d: a peak at shift d - max_lag
    peak = float(np.max(np.abs(r[np.arange(-max_lag, 1) % nfft])))
    return peak / (float(np.std(r)) + 1e-12)
