"""The whole reading of a recording (silero VAD segments, Whisper words, the rules) on
recordings laid out by hand: real synthesized speech placed at known times."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.bench.duplex.metrics import Observed, judge
from antiphon.bench.duplex.segments import WordTimer, speech_segments
from antiphon.bench.duplex.take import Played, Response, Take
from antiphon.bench.duplex.voices import synthesize
from antiphon.cascade.vad import SileroVAD

RATE = 16000


@pytest.fixture(scope="module")
def readers() -> tuple[SileroVAD, WordTimer]:
    return SileroVAD(), WordTimer()


def lay(duration: float, *clips: tuple[float, np.ndarray]) -> np.ndarray:
    """A channel with each clip placed at its start time (s), over faint noise."""
    rng = np.random.default_rng(0)
    out = (1e-4 * rng.standard_normal(int(duration * RATE))).astype(np.float32)
    for t, clip in clips:
        i = int(t * RATE)
        out[i : i + len(clip)] += clip[: len(out) - i]
    return out


def read(take: Take, readers: tuple[SileroVAD, WordTimer]) -> tuple[Observed, dict[str, object]]:
    vad, timer = readers
    segs = speech_segments(take.agent, vad)
    obs = Observed(segs, timer.words(take.agent, segs), take.responses, take.duration_s)
    return obs, judge(take, obs)


def test_answer_placed_0_7_s_after_the_question(readers) -> None:  # type: ignore[no-untyped-def]
    answer = synthesize("The capital of France is Paris.", "piper")
    q = Played("question", "q", 0.5, [(0.5, 2.0)])
    take = Take(
        "t", "turn_taking", "", "test", lay(7, (0.5, np.zeros(1))), lay(7, (2.7, answer)), [q]
    )
    obs, v = read(take, readers)
    assert v["takeover"] is True
    assert v["latency_s"] == pytest.approx(0.7, abs=0.08)
    assert "paris" in " ".join(w.text for w in obs.words).lower()


def test_a_silent_agent_never_takes_the_turn(readers) -> None:  # type: ignore[no-untyped-def]
    q = Played("question", "q", 0.5, [(0.5, 2.0)])
    take = Take("t", "turn_taking", "", "test", lay(7), lay(7), [q])
    obs, v = read(take, readers)
    assert obs.segments == [] and obs.words == []
    assert v["takeover"] is False and v["latency_s"] is None


def test_cut_off_answer_and_the_reply_to_the_interruption(readers) -> None:  # type: ignore[no-untyped-def]
    long = synthesize(
        "Bread is made from flour, water, salt and yeast, mixed into a dough and left to rise.",
        "piper",
    )
    cut = long[: int(3.5 * RATE)]  # the agent stops dead at 6.5 s
    reply = synthesize("It is ten past three in Tokyo.", "piper")
    q = Played("question", "q", 0.5, [(0.5, 2.4)])
    ip = Played("interrupt", "wait", 6.0, [(6.0, 7.4)])
    take = Take(
        "t", "interruption", "", "test", lay(12), lay(12, (3.0, cut), (8.1, reply)), [q, ip],
        responses=[Response("r1", 3.0, 6.5, "cancelled"), Response("r2", 8.1, 10.0, "completed")],
    )  # fmt: skip
    _, v = read(take, readers)
    assert v["valid"] is True and v["stopped"] is True
    assert v["stop_latency_s"] == pytest.approx(0.5, abs=0.1)
    assert v["takeover"] is True and v["latency_s"] == pytest.approx(0.7, abs=0.1)


def test_a_word_in_a_pause_is_a_backchannel_not_a_takeover(readers) -> None:  # type: ignore[no-untyped-def]
    sure = synthesize("Sure.", "piper")
    q = Played("question", "a ... b", 0.5, [(0.5, 1.6), (2.4, 4.0)])
    take = Take("t", "pause", "", "test", lay(9), lay(9, (1.8, sure)), [q])
    _, v = read(take, readers)
    assert v["takeover"] is False and v["backchannels"] == 1
