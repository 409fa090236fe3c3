"""Smart-turn v3 end-of-turn detection: "has the user finished their turn?" from audio.

Reproduces pipecat's ``LocalSmartTurnAnalyzerV3._predict_endpoint``: keep the last 8 s of
the turn, left-pad shorter turns with zeros (the model was trained with the turn's end
aligned to the end of the window), compute normalised Whisper log-mel features (80 x 800)
and run the ONNX model, whose single output is already a sigmoid probability.
"""

from __future__ import annotations

import threading

import numpy as np
import onnxruntime as ort

from antiphon.cascade.mel import SAMPLE_RATE, log_mel
from antiphon.models import smart_turn_onnx

WINDOW_S = 8


def turn_window(audio16k: np.ndarray, seconds: int = WINDOW_S) -> np.ndarray:
    """The last ``seconds`` of audio, zero-padded at the start to exactly that length."""
    x = np.asarray(audio16k, dtype=np.float32).reshape(-1)
    n = seconds * SAMPLE_RATE
    if x.size >= n:
        return x[-n:]
    return np.concatenate([np.zeros(n - x.size, dtype=np.float32), x])


def smart_turn_features(audio16k: np.ndarray) -> np.ndarray:
    """(1, 80, 800) float32 model input for a user turn of any length."""
    return log_mel(turn_window(audio16k), normalize=True)[None]


class SmartTurn:
    """Probability (0..1) that a user's turn is complete, from its 16 kHz audio."""

    def __init__(self, model_path: str | None = None, threads: int = 1) -> None:
        opts = ort.SessionOptions()
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = threads  # one thread: ~70 ms, leaves a core for ASR
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_path or smart_turn_onnx()),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def completion_probability(self, audio16k: np.ndarray) -> float:
        """P(turn complete) for the user's turn so far (only the last 8 s are used)."""
        if np.asarray(audio16k).size == 0:
            return 0.0
        features = smart_turn_features(audio16k)
        with self._lock:
            (out,) = self._session.run(None, {self._input: features})
        return float(np.asarray(out).reshape(-1)[0])

    def is_complete(self, audio16k: np.ndarray, threshold: float = 0.5) -> bool:
        return self.completion_probability(audio16k) > threshold
