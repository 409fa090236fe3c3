"""Several conversations in one batched step: each slot gives the tokens it would give alone
with the same seed, and restarting one slot leaves the others running."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.e2e.batch import BatchedFrameEngine, SlotError
from antiphon.e2e.stack import FrameEngine
from antiphon.lm.sampling import SamplingParams

FRAMES = 6


def _user_audio(slot: int, frames: int, fs: int) -> np.ndarray:
    rng = np.random.default_rng(100 + slot)
    t = np.arange(frames * fs) / 24_000
    tone = 0.2 * np.sin(2 * np.pi * (150 + 60 * slot) * t)
    return (tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32).reshape(frames, fs)


def _alone(stack, slot_audio: np.ndarray, seed: int) -> tuple[list[int], list[np.ndarray]]:  # type: ignore[no-untyped-def]
    engine = BatchedFrameEngine(stack, 1, SamplingParams(seed=0), seeds=[seed])
    tokens, audio = [], []
    for frame in slot_audio:
        (out,) = engine.step(frame[None])
        tokens.append(out.text_token)
        audio.append(out.audio)
    return tokens, audio


def test_batched_slots_equal_separate_sessions(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    fs, seeds = tiny_stack.frame_size, [11, 22, 33, 44]
    audio = np.stack([_user_audio(i, FRAMES, fs) for i in range(4)], axis=1)  # [F, 4, fs]
    engine = BatchedFrameEngine(tiny_stack, 4, SamplingParams(seed=0), seeds=seeds)
    batched = [engine.step(frame) for frame in audio]
    for i, seed in enumerate(seeds):
        tokens, wav = _alone(tiny_stack, audio[:, i], seed)
        assert [f[i].text_token for f in batched] == tokens
        got = np.concatenate([f[i].audio for f in batched])
        assert np.abs(got - np.concatenate(wav)).max() < 1e-4
    assert len({tuple(f[i].text_token for f in batched) for i in range(4)}) > 1  # they differ


def test_single_slot_matches_the_frame_engine_greedy(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    fs = tiny_stack.frame_size
    audio = _user_audio(0, FRAMES, fs)
    greedy = SamplingParams(greedy=True)
    one = FrameEngine(tiny_stack, greedy)
    batch = BatchedFrameEngine(tiny_stack, 2, greedy)
    for frame in audio:
        ref = one.step(frame)
        got = batch.step(np.stack([frame, frame]))
        assert got[0].text_token == got[1].text_token == ref.text_token
        assert np.abs(got[0].audio - ref.audio).max() < 1e-4


def test_restarting_one_slot_keeps_the_others(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    fs, seeds = tiny_stack.frame_size, [5, 6]
    audio = np.stack([_user_audio(i, FRAMES, fs) for i in range(2)], axis=1)
    engine = BatchedFrameEngine(tiny_stack, 2, SamplingParams(seed=0), seeds=seeds)
    out = [engine.step(frame) for frame in audio[:3]]
    engine.reset_slot(0, seed=7)  # a new conversation in slot 0, mid-way through slot 1's
    out += [engine.step(frame) for frame in audio[3:]]
    tokens1, _ = _alone(tiny_stack, audio[:, 1], 6)
    assert [f[1].text_token for f in out] == tokens1
    tokens0, _ = _alone(tiny_stack, audio[3:, 0], 7)
    assert [f[0].text_token for f in out[3:]] == tokens0
    with pytest.raises(SlotError, match="slot 2 out of range"):
        engine.reset_slot(2)
    assert engine.acquire() == 0 and engine.acquire() == 1
    with pytest.raises(SlotError, match="all 2 slots are taken"):
        engine.acquire()
