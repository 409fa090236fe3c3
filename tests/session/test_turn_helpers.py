"""Backchannel and echo judgements, truncation to the heard words, and the end-of-turn rule."""

from __future__ import annotations

import numpy as np

from antiphon.cascade.backchannel import echo_similarity, is_backchannel
from antiphon.cascade.conversation import heard_text
from antiphon.cascade.llm_verdicts import sentence_end_ids
from antiphon.cascade.turns import EndOfTurnRule, TurnVerdict, end_of_turn
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
    rule = EndOfTurnRule(min_ms=200, unsure_ms=800, complete=0.5, unsure=0.2, words_weight=0.5)

    def v(acoustic: float | None, words: float | None, pending: bool = False) -> TurnVerdict:
        return TurnVerdict(acoustic, words, pending)

    assert not end_of_turn(td, 150, v(0.9, 0.9), rule)  # complete, but too early
    assert end_of_turn(td, 220, v(0.9, 0.9), rule)  # both say complete: answer fast
    assert not end_of_turn(td, 900, v(0.1, 0.05), rule)  # mid-sentence pause: keep listening
    assert end_of_turn(td, td.max_silence_ms, v(0.1, 0.05), rule)  # long silence ends it anyway
    # the words overrule an unsure ear, and the other way round: the mean decides
    assert end_of_turn(td, 220, v(0.3, 0.95), rule)
    assert not end_of_turn(td, 220, v(0.95, 0.01), rule) and end_of_turn(
        td, 820, v(0.95, 0.01), rule
    )
    # nothing known yet: wait; one verdict failed: the other decides alone
    assert not end_of_turn(td, 900, v(0.9, None, pending=True), rule)
    assert end_of_turn(td, 220, v(None, 0.9), rule) and end_of_turn(td, 220, v(0.9, None), rule)
    server = TurnDetection(kind="server_vad", silence_duration_ms=500)
    assert not end_of_turn(server, 400, v(0.99, 0.99), rule)
    assert end_of_turn(server, 500, v(None, None), rule)


def test_voiced_end_ignores_trailing_silence() -> None:
    rate = 16000
    audio = np.concatenate([np.zeros(rate // 2), 0.3 * np.ones(rate), np.zeros(rate)]).astype(
        np.float32
    )
    assert abs(voiced_end(audio, rate) - 1.5) < 0.02


def test_a_sentence_ends_with_one_mark_and_any_whitespace() -> None:
    """The words' verdict counts "?\\n" and "?\\n\\n" as the end of a question, as "?" is;
    an ellipsis trails off, and two marks or words with a mark are something else."""
    vocab = [b".", b"?\n", b"?\n\n", b" .", b"...", b"Hello", b"?!", "。".encode(), b"", b"ok."]
    assert sentence_end_ids(vocab) == {0, 1, 2, 3, 7}
