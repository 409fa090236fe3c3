"""Smart-turn v3 end-of-turn model and its numpy Whisper log-mel features."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from speech import synth  # noqa: E402

from antiphon.cascade.mel import HOP, N_FFT, N_MELS, log_mel  # noqa: E402
from antiphon.cascade.smart_turn import SmartTurn, turn_window  # noqa: E402
from antiphon.models import package_dir  # noqa: E402

SR = 16000


def _torch_reference_log_mel(audio: np.ndarray) -> np.ndarray:
    """Independent reference: torch.stft + a mel bank built from the Slaney formulas."""
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(audio.astype(np.float32))
    x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
    spec = torch.stft(
        x.double(),
        N_FFT,
        HOP,
        window=torch.hann_window(N_FFT, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spec.abs() ** 2  # (201, frames)

    def hz_to_mel(f: float) -> float:
        return 3 * f / 200 if f < 1000 else 15 + np.log(f / 1000) * 27 / np.log(6.4)

    def mel_to_hz(m: float) -> float:
        return 200 * m / 3 if m < 15 else 1000 * np.exp((m - 15) * np.log(6.4) / 27)

    pts = [mel_to_hz(m) for m in np.linspace(hz_to_mel(0), hz_to_mel(8000), N_MELS + 2)]
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    bank = np.zeros((N_MELS, len(freqs)))
    for m in range(N_MELS):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        tri = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
        bank[m] = tri * 2 / (hi - lo)
    mel = torch.from_numpy(bank) @ power
    logspec = torch.clamp(mel, min=1e-10).log10()[:, :-1]
    logspec = torch.maximum(logspec, logspec.max() - 8.0)
    return ((logspec + 4.0) / 4.0).float().numpy()


def _pipecat_features(audio: np.ndarray) -> np.ndarray:
    """pipecat's own vendored extractor (loaded by path: pipecat's __init__ needs loguru)."""
    path = package_dir("pipecat") / "audio/turn/smart_turn/_whisper_features.py"
    spec = importlib.util.spec_from_file_location("_pipecat_whisper_features", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.compute_whisper_log_mel_features(audio, do_normalize=True)


@pytest.fixture(scope="module")
def question() -> np.ndarray:
    return synth("What is the capital of France?")


def test_log_mel_matches_torch_reference_and_pipecat(question: np.ndarray) -> None:
    window = turn_window(question)
    ours = log_mel(window)
    assert ours.shape == (80, 800) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _torch_reference_log_mel(window), atol=1e-4)
    np.testing.assert_allclose(ours, _pipecat_features(window), atol=1e-6)


def test_window_keeps_the_end_and_pads_at_the_start() -> None:
    short = np.ones(SR, np.float32)
    w = turn_window(short)
    assert w.shape == (8 * SR,) and w[: 7 * SR].max() == 0 and w[-SR:].min() == 1
    long = np.arange(10 * SR, dtype=np.float32)
    assert turn_window(long)[0] == 2 * SR and turn_window(long)[-1] == 10 * SR - 1


@pytest.mark.models
def test_complete_question_scores_higher_than_cut_one(question: np.ndarray) -> None:
    st = SmartTurn()
    t0 = time.perf_counter()
    full = st.completion_probability(question)
    cost = time.perf_counter() - t0
    # Real end-of-turn: the VAD has already seen ~200 ms of silence after the last word.
    full_pause = st.completion_probability(
        np.concatenate([question, np.zeros(SR // 5, np.float32)])
    )
    # The same audio cut off mid-phrase ("What is the capital ..." / "... of").
    cuts = {f: st.completion_probability(question[: int(f * len(question))]) for f in (0.6, 0.7)}
    trailing = st.completion_probability(synth("So I was thinking that maybe we could"))
    print(
        f"\nsmart-turn: full={full:.3f} full+200ms={full_pause:.3f} "
        f"cut60%={cuts[0.6]:.3f} cut70%={cuts[0.7]:.3f} 'we could'={trailing:.3f} "
        f"({1e3 * cost:.0f} ms per call)"
    )
    assert full > 0.8 and full_pause > 0.8
    for p in cuts.values():
        assert p < 0.5 and p < full - 0.3
    assert trailing < 0.5


@pytest.mark.models
def test_empty_and_long_turns() -> None:
    st = SmartTurn()
    assert st.completion_probability(np.zeros(0, np.float32)) == 0.0
    long = np.concatenate(
        [np.zeros(6 * SR, np.float32), synth("What is the capital of France?")] * 2
    )
    p = st.completion_probability(long)  # > 8 s: only the end is used
    assert 0.0 <= p <= 1.0
