"""Speech during the agent's speech: barge-in cuts it off; backchannels and echo do not."""

from __future__ import annotations

import pytest
from dialogue import audio_of, converse, of_type, timed
from speech import synth

from antiphon.session.events import AgentTextDelta, AudioChunk, ResponseDone, UserSpeechStarted
from antiphon.session.scripted import Echo, Utterance

pytestmark = pytest.mark.models

STORY = "Tell me a long story about a brave little dragon."


async def test_barge_in_cancels_and_keeps_only_what_was_heard(stack) -> None:
    rec, session = await converse(
        stack,
        [
            Utterance(synth(STORY), when="at"),
            Utterance(
                synth("Wait, what is the capital of Japan?"),
                when="agent_speaking",
                start_s=2.0,
            ),
        ],
    )
    dones = timed(rec, ResponseDone)
    t_cut, cut = dones[0]
    assert cut.status == "cancelled" and cut.reason == "turn_detected"
    # the user barged in 2.0 s into the reply; the decision needs ~0.5 s of their speech
    assert cut.heard_ms is not None and 2000 <= cut.heard_ms <= 3500
    # output stopped at the decision: no audio of that response after it
    late = [
        t for t, ev in timed(rec, AudioChunk) if ev.response_id == cut.response_id and t > t_cut
    ]
    assert not late
    assert len(audio_of(rec, cut.response_id)) / 24000 * 1000 <= cut.heard_ms + 40
    # the conversation keeps only the heard words: a strict prefix of what was generated
    generated = "".join(
        d.text for d in of_type(rec, AgentTextDelta) if d.response_id == cut.response_id
    )
    assert cut.text and generated.startswith(cut.text) and len(cut.text) < len(generated)
    memory = [m for m in session.brain.conv.messages if m.role == "assistant"]  # type: ignore[attr-defined]
    assert memory[0].content.rstrip("…") == cut.text
    # and the interruption itself is answered
    answer = dones[-1][1]
    assert answer.status == "completed" and "tokyo" in answer.text.lower()


async def test_backchannel_does_not_stop_the_agent(stack) -> None:
    rec, _ = await converse(
        stack,
        [
            Utterance(synth(STORY), when="at"),
            Utterance(synth("Uh huh."), when="agent_speaking", start_s=1.5),
            Utterance(synth("Yeah."), when="agent_speaking", start_s=4.0),
        ],
    )
    dones = of_type(rec, ResponseDone)
    assert len(dones) == 1 and dones[0].status == "completed"


async def test_echo_of_the_agent_does_not_stop_it(stack) -> None:
    rec, _ = await converse(
        stack, [Utterance(synth(STORY), when="at")], echo=Echo(delay_ms=120, gain_db=-6.0)
    )
    dones = of_type(rec, ResponseDone)
    assert len(dones) == 1 and dones[0].status == "completed"
    assert len(of_type(rec, UserSpeechStarted)) == 1  # only the real question
    assert len(audio_of(rec, dones[0].response_id)) > 3 * 24000  # a long reply played out
