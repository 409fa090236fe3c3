"""What may pause or stop the agent while it talks: echo is recognised by its coherence
with what was played, short misheard backchannels wait, floor-taking words interrupt, and
the pacer holds and resumes without losing audio."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from speech import synth

from antiphon.bench.duplex.effects import echo_ir, far_field
from antiphon.cascade.backchannel import asks_for_floor
from antiphon.cascade.echo_check import MAX_LAG_S, echo_peak
from antiphon.cascade.overlap import ECHO_CLEAR, ECHO_PEAK, judge
from antiphon.session.commands import TurnDetection

RATE = 16000
LAG = int(MAX_LAG_S * RATE)


@pytest.fixture(scope="module")
def agent() -> np.ndarray:
    return synth("The water cycle is a complex process that involves evaporation and rain.")


@pytest.mark.parametrize("delay_ms,gain_db", [(60, -6.0), (150, -12.0), (220, -3.0)])
def test_echo_is_coherent_with_what_was_played(
    agent: np.ndarray, delay_ms: int, gain_db: float
) -> None:
    ir = echo_ir(np.random.default_rng(1), RATE, delay_ms, gain_db)
    echo = signal.fftconvolve(agent, ir)[: len(agent)].astype(np.float32)
    for t in (1.0, 2.0):
        i, n = int(t * RATE), RATE // 2
        assert echo_peak(echo[i - n : i], agent[i - n - LAG : i]) >= ECHO_PEAK


def test_a_person_talking_over_the_agent_is_not_echo(agent: np.ndarray) -> None:
    for text, voice in (
        ("Wait, stop. Tell me about the moon.", "flite"),
        ("Hold on, what is that?", "espeak"),
    ):
        user = synth(text, voice)
        for t in (0.6, 1.2):
            i, n = int(t * RATE), RATE // 2
            assert echo_peak(user[i - n : i], agent[i - n - LAG : i]) < ECHO_CLEAR


def test_nothing_played_means_no_echo(agent: np.ndarray) -> None:
    assert echo_peak(agent[: RATE // 2], np.zeros(RATE // 2 + LAG, np.float32)) == 0.0


def test_short_bursts_without_a_floor_word_are_misheard_backchannels() -> None:
    td = TurnDetection()
    assert judge("Emma.", 450, td, "") == "wait"  # "mm-hmm" as tiny.en hears it
    assert judge("I've had.", 500, td, "") == "wait"  # "uh-huh"
    assert judge("Yeah.", 400, td, "") == "wait"
    assert judge("Stop.", 420, td, "") == "interrupt"
    assert judge("Wait,", 400, td, "") == "interrupt"
    assert judge("Tell me about cats", 900, td, "") == "interrupt"  # long enough to be a turn
    assert judge("is a complex process", 900, td, "The water cycle is a complex process") == "echo"
    assert asks_for_floor("等一下") and not asks_for_floor("嗯")


def test_far_field_speech_is_quieter_than_the_user() -> None:
    # the level gate's premise, on the benchmark's recipe
    from antiphon.cascade.overlap import chunk_db, speech_level

    near = synth("Wait, stop. Tell me about the moon.")
    far = far_field(near, RATE, np.random.default_rng(2), -26.0 - 12.0, rt60_s=0.4)
    chunks = lambda a: [chunk_db(a[i : i + 512]) for i in range(0, len(a) - 511, 512)]  # noqa: E731
    near = near * (10 ** ((-26.0 - speech_level(chunks(near))) / 20))
    assert speech_level(chunks(far)) < speech_level(chunks(near)) - 8.0


STORY = "Tell me a long story about a brave little dragon."


@pytest.mark.models
async def test_talking_to_someone_else_does_not_stop_the_agent(stack) -> None:  # type: ignore[no-untyped-def]
    from dialogue import converse, of_type

    from antiphon.bench.duplex.effects import at_level
    from antiphon.session.events import ResponseDone
    from antiphon.session.scripted import Utterance

    question = at_level(synth(STORY), -26.0)
    aside = far_field(
        synth("Honey, can you turn the oven off please?"),
        RATE,
        np.random.default_rng(3),
        -40.0,
        0.4,
    )
    rec, _ = await converse(
        stack,
        [Utterance(question, when="at"), Utterance(aside, when="agent_speaking", start_s=1.5)],
    )
    dones = of_type(rec, ResponseDone)
    assert len(dones) == 1 and dones[0].status == "completed"
