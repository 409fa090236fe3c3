"""Silero voice activity detection (ONNX, no torch) and a hysteresis speech segmenter.

``SileroVAD`` mirrors ``silero_vad.utils_vad.OnnxWrapper`` at 16 kHz: each 512-sample chunk
is fed with the previous chunk's last 64 samples prepended, and the recurrent state
(2, 1, 128) is carried between calls. Skipping either degrades the probabilities badly.
"""

from __future__ import annotations

import threading
from typing import Literal

import numpy as np
import onnxruntime as ort

from antiphon.models import silero_vad_onnx

SAMPLE_RATE = 16000


class SileroVAD:
    """Streaming speech probability for consecutive 32 ms chunks of 16 kHz audio."""

    CHUNK = 512  # samples per call at 16 kHz (32 ms), fixed by the model
    CONTEXT = 64  # samples of the previous chunk the model sees before each chunk

    def __init__(self, model_path: str | None = None) -> None:
        opts = ort.SessionOptions()
        # One thread: a 32 ms chunk costs ~0.1 ms, and the 2 cores are needed elsewhere.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path or silero_vad_onnx()),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the stream (call between unrelated audio streams)."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(self.CONTEXT, dtype=np.float32)

    def prob(self, chunk: np.ndarray) -> float:
        """Probability that this 512-sample chunk (the next in the stream) is speech."""
        x = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if x.shape[0] != self.CHUNK:
            raise ValueError(
                f"SileroVAD needs {self.CHUNK}-sample chunks at 16 kHz; got {x.shape[0]}"
            )
        inp = np.concatenate([self._context, x])[None, :]
        with self._lock:
            out, state = self._session.run(
                None, {"input": inp, "state": self._state, "sr": self._sr}
            )
            self._state = state
            self._context = x[-self.CONTEXT :].copy()
        return float(out[0, 0])

    def probs(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities for every whole chunk of ``audio`` (continues the stream)."""
        n = len(audio) // self.CHUNK
        return np.array(
            [self.prob(audio[i * self.CHUNK : (i + 1) * self.CHUNK]) for i in range(n)],
            dtype=np.float32,
        )


class VADSegmenter:
    """Turns per-chunk speech probabilities into debounced speech start/stop events.

    Speech starts after ``min_speech_ms`` of chunks at or above ``threshold`` and stops after
    ``min_silence_ms`` of chunks below ``neg_threshold`` (hysteresis: probabilities in
    between keep the current state, so a wobbling probability does not flap).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        min_speech_ms: float = 96.0,
        min_silence_ms: float = 500.0,
        chunk_ms: float = 1000.0 * SileroVAD.CHUNK / SAMPLE_RATE,
        neg_threshold: float | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1); got {threshold}")
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.chunk_ms = chunk_ms
        self.reset()

    def reset(self) -> None:
        self._in_speech = False
        self._run_ms = 0.0  # candidate speech (when silent) or candidate silence (when speaking)
        self._speech_ms = 0.0  # length of the current speech segment, trailing silence included
        self._silence_ms = 0.0  # silence since the last speech chunk

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def speech_ms(self) -> float:
        """Duration of the current (or just-ended) speech segment so far."""
        return self._speech_ms

    @property
    def silence_ms(self) -> float:
        """Time since the last chunk that counted as speech."""
        return self._silence_ms

    def push(self, prob: float) -> Literal["start", "stop"] | None:
        """Feed the next chunk's probability; returns "start"/"stop" on a state change."""
        is_speech = prob >= self.threshold
        is_silence = prob < self.neg_threshold
        self._silence_ms = 0.0 if is_speech else self._silence_ms + self.chunk_ms
        if not self._in_speech:
            self._run_ms = self._run_ms + self.chunk_ms if is_speech else 0.0
            if self._run_ms >= self.min_speech_ms:
                self._in_speech, self._speech_ms, self._run_ms = True, self._run_ms, 0.0
                return "start"
            return None
        self._speech_ms += self.chunk_ms
        self._run_ms = self._run_ms + self.chunk_ms if is_silence else 0.0
        if self._run_ms >= self.min_silence_ms:
            self._in_speech, self._run_ms = False, 0.0
            return "stop"
        return None


if __name__ == "__main__":  # python -m antiphon.cascade.vad: per-chunk cost on this machine
    import time

    vad = SileroVAD()
    noise = (0.01 * np.random.default_rng(0).standard_normal(SAMPLE_RATE * 10)).astype(np.float32)
    vad.probs(noise[: SileroVAD.CHUNK * 10])  # warm up
    t0 = time.perf_counter()
    n = len(vad.probs(noise))
    print(f"silero VAD: {1e3 * (time.perf_counter() - t0) / n:.3f} ms per 32 ms chunk ({n} chunks)")
