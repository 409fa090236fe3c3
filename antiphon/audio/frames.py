"""Fixed-size framing of a stream of arbitrary-length chunks."""

from __future__ import annotations

import numpy as np


class Framer:
    """Collects samples and hands out whole frames of ``frame_size`` samples."""

    def __init__(self, frame_size: int) -> None:
        if frame_size <= 0:
            raise ValueError("frame_size must be positive")
        self.frame_size = frame_size
        self._buf = np.zeros(0, dtype=np.float32)

    def push(self, audio: np.ndarray) -> list[np.ndarray]:
        self._buf = np.concatenate([self._buf, audio.astype(np.float32, copy=False)])
        n = len(self._buf) // self.frame_size
        frames = [self._buf[i * self.frame_size : (i + 1) * self.frame_size] for i in range(n)]
        self._buf = self._buf[n * self.frame_size :].copy()
        return frames

    def pending(self) -> int:
        return len(self._buf)

    def flush(self) -> np.ndarray | None:
        """The partial last frame, zero-padded, or None when nothing is pending."""
        if not len(self._buf):
            return None
        out = np.zeros(self.frame_size, dtype=np.float32)
        out[: len(self._buf)] = self._buf
        self._buf = np.zeros(0, dtype=np.float32)
        return out

    def reset(self) -> None:
        self._buf = np.zeros(0, dtype=np.float32)
