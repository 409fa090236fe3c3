"""Silero VAD on real speech, equivalence with the reference wrapper, and the segmenter."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from speech import synth  # noqa: E402

from antiphon.cascade.vad import SileroVAD, VADSegmenter  # noqa: E402

pytestmark = pytest.mark.models
SR = 16000


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    return SileroVAD()


def _with_silence(audio: np.ndarray, before: float = 0.5, after: float = 1.0) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(before * SR), np.float32), audio, np.zeros(int(after * SR), np.float32)]
    )


def test_speech_scores_high_and_silence_low(vad: SileroVAD) -> None:
    vad.reset()
    speech = synth("What is the capital of France?")
    p_speech = vad.probs(speech)
    vad.reset()
    rng = np.random.default_rng(0)
    p_noise = vad.probs(0.003 * rng.standard_normal(SR * 2).astype(np.float32))
    vad.reset()
    p_silence = vad.probs(np.zeros(SR, np.float32))
    print(
        f"\nspeech mean p={p_speech.mean():.2f}, noise max p={p_noise.max():.3f}, silence max p={p_silence.max():.3f}"
    )
    assert np.mean(p_speech > 0.5) > 0.5
    assert p_noise.max() < 0.3
    assert p_silence.max() < 0.1


def test_matches_reference_onnx_wrapper(vad: SileroVAD) -> None:
    """Same numbers as silero_vad's own OnnxWrapper (context + state handling)."""
    torch = pytest.importorskip("torch")
    from silero_vad.utils_vad import OnnxWrapper

    from antiphon.models import silero_vad_onnx

    ref = OnnxWrapper(str(silero_vad_onnx()), force_onnx_cpu=True)
    audio = _with_silence(synth("Hello there, how are you today?", "espeak"), 0.3, 0.3)
    vad.reset()
    ours = vad.probs(audio)
    theirs = [
        float(ref(torch.from_numpy(audio[i * 512 : (i + 1) * 512].copy()), SR)[0, 0])
        for i in range(len(audio) // 512)
    ]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_segmenter_on_real_speech(vad: SileroVAD) -> None:
    vad.reset()
    audio = _with_silence(synth("What is the capital of France?"), 0.6, 1.0)
    seg = VADSegmenter(threshold=0.5, min_speech_ms=96, min_silence_ms=500)
    events: list[tuple[float, str]] = []
    costs: list[float] = []
    for i in range(len(audio) // SileroVAD.CHUNK):
        chunk = audio[i * 512 : (i + 1) * 512]
        t0 = time.perf_counter()
        p = vad.prob(chunk)
        costs.append(time.perf_counter() - t0)
        ev = seg.push(p)
        if ev:
            events.append(((i + 1) * 0.032, ev))
    print(
        f"\nVAD cost per 32 ms chunk: median {1e3 * np.median(costs):.3f} ms, "
        f"p95 {1e3 * np.percentile(costs, 95):.3f} ms; events {events}"
    )
    assert [e for _, e in events] == ["start", "stop"]
    start, stop = events[0][0], events[1][0]
    speech_end = 0.6 + len(audio) / SR - 1.6
    assert 0.6 < start < 1.0
    assert speech_end + 0.4 < stop < speech_end + 0.9
    assert not seg.in_speech


def test_segmenter_hysteresis_and_debounce() -> None:
    seg = VADSegmenter(threshold=0.5, min_speech_ms=64, min_silence_ms=96, chunk_ms=32)
    assert seg.neg_threshold == pytest.approx(0.35)
    assert seg.push(0.9) is None  # one chunk is not enough to start
    assert seg.push(0.1) is None  # a blip resets the candidate
    assert [seg.push(0.9), seg.push(0.9)] == [None, "start"]
    assert seg.in_speech and seg.speech_ms == pytest.approx(64)
    # 0.4 sits between the thresholds: neither speech nor silence, so no stop.
    assert [seg.push(0.4) for _ in range(10)] == [None] * 10
    assert seg.in_speech and seg.silence_ms == pytest.approx(320)
    assert [seg.push(0.1), seg.push(0.1), seg.push(0.1)] == [None, None, "stop"]
    assert not seg.in_speech
    seg.reset()
    assert seg.speech_ms == 0 and seg.silence_ms == 0


def test_rejects_wrong_chunk_size(vad: SileroVAD) -> None:
    with pytest.raises(ValueError, match="512"):
        vad.prob(np.zeros(480, np.float32))
