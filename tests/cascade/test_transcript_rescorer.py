"""The chat model's judgement between the recognizer's best hypotheses (real models)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from speech import synth  # noqa: E402

from antiphon.cascade.asr import StreamingASR  # noqa: E402
from antiphon.cascade.transcript_rescorer import (  # noqa: E402
    Hypothesis,
    TranscriptRescorer,
    rescorer_for,
)
from antiphon.models import qwen_1_5b_gguf  # noqa: E402

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def rescorer() -> TranscriptRescorer:
    # the chat model the cascade already uses: the 0.5B could not tell "bar" from "bird" in
    # "Which ... is a symbol of peace?" (log-probabilities -42.8 vs -42.6; 1.5B: -38.4 vs -27.1)
    return TranscriptRescorer(qwen_1_5b_gguf())


def test_the_sentence_a_person_would_say_wins_a_close_call(rescorer: TranscriptRescorer) -> None:
    # near-homophones Whisper base wrote first on the bench's synthetic voices
    pairs = [
        ("What do you call a maybe cat?", "What do you call a baby cat?"),
        ("Which bar is a symbol of peace?", "Which bird is a symbol of peace?"),
    ]
    for misheard, meant in pairs:
        # the recognizer slightly prefers the misheard words; the LM's view decides
        hyps = [Hypothesis(misheard, -3.0), Hypothesis(meant, -3.5)]
        assert rescorer.choose(hyps) == 1, (misheard, meant)


def test_a_clear_acoustic_preference_is_not_overturned(rescorer: TranscriptRescorer) -> None:
    # an unusual sentence the recognizer is sure of stays, however odd it reads
    hyps = [Hypothesis("The purple llama sang opera.", -1.0), Hypothesis("The people", -40.0)]
    assert rescorer.choose(hyps) == 0


def test_scores_do_not_depend_on_what_was_scored_before(rescorer: TranscriptRescorer) -> None:
    """The cache keeps the prefix two hypotheses share: the figures must be the same as
    when each is scored from scratch (up to llama.cpp's arithmetic, which differs by a few
    hundredths of a nat with the batch's shape; the choices turn on several nats)."""
    a, b = "Set a timer for five minutes.", "Set a timer for nine minutes please."
    first_a = rescorer.language_logprob(a)
    rescorer.language_logprob(b)
    again_a = rescorer.language_logprob(a)
    rescorer.language_logprob("Something else entirely.")
    fresh_b = rescorer.language_logprob(b)
    fresh = TranscriptRescorer(qwen_1_5b_gguf())
    try:
        assert fresh.language_logprob(a) == pytest.approx(first_a, abs=0.2)
        assert fresh.language_logprob(b) == pytest.approx(fresh_b, abs=0.2)
    finally:
        fresh.close()
    assert again_a == pytest.approx(first_a, abs=0.2)
    assert first_a > rescorer.language_logprob("Set a timer for fife minnits.")


def test_same_words_keep_the_recognizers_order(rescorer: TranscriptRescorer) -> None:
    hyps = [Hypothesis("What time is it?", -2.0), Hypothesis("what time is it", -2.5)]
    assert rescorer.choose(hyps) == 0
    assert rescorer.choose([Hypothesis("Hello.", -1.0)]) == 0
    with pytest.raises(ValueError, match="no hypotheses"):
        rescorer.choose([])


def test_bad_configuration_is_named() -> None:
    assert rescorer_for("off", 0.3, 2) is None
    with pytest.raises(ValueError, match="unknown transcript rescorer 'gpt9'"):
        rescorer_for("gpt9", 0.3, 2)
    with pytest.raises(FileNotFoundError, match="no model file"):
        TranscriptRescorer("/nonexistent/model.gguf")


def test_final_decode_offers_alternatives_and_keeps_a_clear_question(
    rescorer: TranscriptRescorer,
) -> None:
    asr = StreamingASR(recognizer="tiny.en+base", beam_size=5, rescorer=rescorer)
    audio = synth("What is the capital of France?")
    assert asr._short is not None
    seg = asr._short.decode(audio, None, 40, beam_size=5, alternatives=3)
    assert len(seg.alternatives) == 3
    assert seg.alternatives[0].text == seg.text
    assert seg.alternatives[0].logprob >= seg.alternatives[1].logprob
    text = asr.transcribe(audio).lower()
    assert "capital" in text and "france" in text
    # live partials never pay for the rescorer: greedy, one hypothesis
    quick = asr._quick_short
    assert quick is not None
    assert quick.decode(audio, None, 40).alternatives == ()
