"""Backchannel and echo judgements, truncation to the heard words, and the end-of-turn rule."""

from __future__ import annotations

import numpy as np

from antiphon.cascade.backchannel import echo_similarity, is_backchannel
from antiphon.cascade.conversation import heard_text
from antiphon.cascade.turns import end_of_turn
from antiphon.session.commands import TurnDetection
from antiphon.session.scripted import voiced_end


def test_backchannels_and_real_interruptions() -> None:
    for text in ["Mm-hmm.", "yeah", "Uh-huh, right.", "Okay.", "嗯", "", "Yeah yeah."]:
        assert is_backchannel(text), text
    for text in ["Wait, stop.", "What time is it?", "No, that's wrong", "yeah but why is that"]:
        assert not is_backchannel(text), text


def test_echo_similarity_recognises_the_agents_own_words() -> None:
    said = "The capital of France is Paris. It is a beautiful city."
    assert echo_similarity("is a beautiful city", said) == 1.0
    assert echo_similarity("what time is it", said) < 0.6


def test_heard_text_cuts_inside_the_phrase_in_progress() -> None:
    spoken = [("The capital of France", 0.0, 1000.0), ("is Paris.", 1000.0, 500.0)]
    assert heard_text(spoken, 2000) == "The capital of France is Paris."
    assert heard_text(spoken, 1000) == "The capital of France"
    assert heard_text(spoken, 500) == "The capital"
    assert heard_text(spoken, 0) == ""
    assert heard_text([("法国的首都", 0.0, 1000.0)], 400, sep="") == "法国"


def test_end_of_turn_rule() -> None:
    td = TurnDetection()
    assert not end_of_turn(td, 150, 0.9, 200, 0.5)  # complete, but too early
    assert end_of_turn(td, 220, 0.9, 200, 0.5)  # complete: answer fast
    assert not end_of_turn(td, 900, 0.1, 200, 0.5)  # mid-sentence pause: keep listening
    assert end_of_turn(td, td.max_silence_ms, 0.1, 200, 0.5)  # long silence ends it anyway
    server = TurnDetection(kind="server_vad", silence_duration_ms=500)
    assert not end_of_turn(server, 400, 0.99, 200, 0.5) and end_of_turn(server, 500, None, 200, 0.5)


def test_voiced_end_ignores_trailing_silence() -> None:
    rate = 16000
    audio = np.concatenate([np.zeros(rate // 2), 0.3 * np.ones(rate), np.zeros(rate)]).astype(
        np.float32
    )
    assert abs(voiced_end(audio, rate) - 1.5) < 0.02


def test_a_question_mark_shortens_the_wait_when_smart_turn_says_incomplete() -> None:
    td = TurnDetection()
    assert not end_of_turn(td, 500, 0.2, 350, 0.5, asked=True, asked_eot_ms=600)
    assert end_of_turn(td, 620, 0.2, 350, 0.5, asked=True, asked_eot_ms=600)
    assert not end_of_turn(td, 620, 0.2, 350, 0.5, asked=False, asked_eot_ms=600)
    assert end_of_turn(td, 400, 0.9, 350, 0.5, asked=True, asked_eot_ms=600)  # complete: as before


def test_candidate_knows_when_its_transcript_asks_a_question() -> None:
    import asyncio

    from antiphon.cascade.turns import TurnCandidate

    async def verdicts() -> list[bool]:
        out = []
        for text in ("What is 2 plus 2?", 'He asked "why?"', "I would like a table for", None):
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            if text is not None:
                fut.set_result(text)
            cand = TurnCandidate(np.zeros(10, np.float32), 0.0, 0, fut, None)  # type: ignore[arg-type]
            out.append(cand.asked_question())
        return out

    assert asyncio.run(verdicts()) == [True, True, False, False]  # the last: not decoded yet
