"""The far-end reference for echo cancellation: what the speaker played, at the
canceller's rate, kept sample-aligned with the microphone input.

An echo canceller learns a fixed echo path, so the reference must never slip against
the input. Two things made it slip: a streaming resampler that hands out bursty chunk
sizes, and zeros inserted whenever the input asked before the reference arrived. Here
every released frame becomes exactly frame × ratio samples (a polyphase FIR with a small
fixed delay), and a read that runs ahead while audio is playing is remembered as debt and
repaid by dropping the late samples, so sample k of the reference always means the same
moment.
"""

from __future__ import annotations

from collections import deque
from math import gcd

import numpy as np
from scipy.signal import resample_poly

_GUARD = 48  # output samples kept away from the FIR's right edge (fixed 3 ms delay at 16k)


class EchoReference:
    def __init__(self, source_rate: int, rate: int, max_backlog_s: float = 0.5) -> None:
        g = gcd(source_rate, rate)
        self.up, self.down = rate // g, source_rate // g
        self.rate = rate
        self._history = np.zeros(0, dtype=np.float32)  # source samples already resampled
        self._carry = np.zeros(0, dtype=np.float32)
        self._chunks: deque[np.ndarray] = deque()
        self._debt = 0
        self._max_backlog = int(max_backlog_s * rate)

    def push(self, frame: np.ndarray) -> None:
        """Released audio at the source rate; a remainder that does not fill a whole
        resampling period waits for the next push."""
        frame = np.concatenate([self._carry, frame.astype(np.float32)])
        whole = len(frame) // self.down * self.down
        frame, self._carry = frame[:whole], frame[whole:]
        if not len(frame):
            return
        if self.up == self.down:
            out = frame.astype(np.float32, copy=True)
        else:
            window = np.concatenate([self._history, frame.astype(np.float32)])
            y = resample_poly(window, self.up, self.down).astype(np.float32)
            n_out = len(frame) * self.up // self.down
            end = len(self._history) * self.up // self.down + n_out - _GUARD
            out = y[max(0, end - n_out) : end]
            if len(out) < n_out:  # the very first frame: pad the start
                out = np.concatenate([np.zeros(n_out - len(out), np.float32), out])
            self._history = window[-4 * self.down * 16 :]
        if self._debt:
            paid = min(self._debt, len(out))
            out, self._debt = out[paid:], self._debt - paid
        if len(out):
            self._chunks.append(out)
        while self.backlog() > self._max_backlog:  # the input stalled: drop the oldest
            self._chunks.popleft()

    def take(self, n: int, playing: bool) -> np.ndarray:
        """The next n reference samples; zeros where nothing was played."""
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        while filled < n and self._chunks:
            head = self._chunks[0]
            k = min(n - filled, len(head))
            out[filled : filled + k] = head[:k]
            filled += k
            if k == len(head):
                self._chunks.popleft()
            else:
                self._chunks[0] = head[k:]
        if playing and filled < n:
            self._debt += n - filled  # audio for this moment is still on its way
        return out

    def backlog(self) -> int:
        return sum(len(a) for a in self._chunks)
