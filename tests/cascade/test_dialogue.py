"""Whole spoken turns through the real cascade (Whisper tiny.en, Qwen2.5-0.5B, piper)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dialogue import audio_of, converse, event_names, of_type
from speech import synth

from antiphon.audio.io import rms_dbfs
from antiphon.cascade.responder import phrase_audio
from antiphon.session.commands import SpeakingStyle
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ResponseDone,
    ResponseStarted,
    StyleChanged,
    ToolCall,
    ToolResultSpoken,
    UserTranscriptFinal,
)
from antiphon.session.scripted import Utterance

pytestmark = pytest.mark.models


async def test_spoken_question_gets_a_spoken_answer(stack) -> None:
    rec, _ = await converse(stack, [Utterance(synth("What is the capital of France?"), when="at")])
    names = list(event_names(rec))
    order = [
        "UserSpeechStarted",
        "UserSpeechStopped",
        "UserTranscriptFinal",
        "ResponseStarted",
        "ResponseDone",
    ]
    assert [n for n in names if n in order] == order
    heard = of_type(rec, UserTranscriptFinal)[0].text.lower()
    assert "capital" in heard and "france" in heard
    done = of_type(rec, ResponseDone)[0]
    assert done.status == "completed"
    assert "paris" in done.text.lower()
    reply = audio_of(rec, done.response_id)
    assert len(reply) > 0.5 * 24000 and rms_dbfs(reply) > -35


async def test_tool_call_round_trip_from_speech(stack) -> None:
    rec, session = await converse(
        stack, [Utterance(synth("Please turn on the lights in the kitchen."), when="at")]
    )
    calls = of_type(rec, ToolCall)
    assert calls and calls[0].name == "control_lights"
    args = json.loads(calls[0].arguments)
    assert "kitchen" in args["room"].lower()
    results = of_type(rec, ToolResultSpoken)
    assert results and results[0].call_id == calls[0].call_id
    assert session.brain.tools.local.home.lights["kitchen"] is True  # type: ignore[attr-defined]
    done = of_type(rec, ResponseDone)[-1]
    assert done.status == "completed" and done.text  # the result was spoken
    assert len(audio_of(rec, done.response_id)) > 0
    # no dead air while the model writes the call: a filler is heard before the call runs
    # (a virtual clock: compare the order of events, not their times; audio is paced, so
    # its chunks leave after the call event even though the filler was synthesized first)
    events = [ev for _, ev in rec.events]
    call_at = next(i for i, ev in enumerate(events) if isinstance(ev, ToolCall))
    before = "".join(ev.text for ev in events[:call_at] if isinstance(ev, AgentTextDelta))
    assert before.strip() == stack.filler_text()
    assert any(isinstance(ev, AudioChunk) for ev in events)


def cut_after_word(stack, audio: np.ndarray, word: str) -> int:  # type: ignore[no-untyped-def]
    """Sample index between `word` and the next one (Whisper word timestamps)."""
    segments, _ = stack.asr._model.transcribe(audio, language="en", word_timestamps=True)
    words = [w for seg in segments for w in seg.words]
    for w, nxt in zip(words, words[1:], strict=False):
        if w.word.strip(" ,.?").lower() == word:
            return int((w.end + nxt.start) / 2 * 16000)
    raise AssertionError(f"{word!r} not found")


async def test_mid_sentence_pause_does_not_trigger_a_reply(stack) -> None:
    # one sentence, with a 0.8 s pause cut into it where it is clearly unfinished
    sentence = synth("I would like to know the capital of France, please.")
    cut = cut_after_word(stack, sentence, "of")
    pause = np.zeros(int(0.8 * 16000), np.float32)
    audio = np.concatenate([sentence[:cut], pause, sentence[cut:]])
    rec, _ = await converse(stack, [Utterance(audio, when="at")])
    assert len(of_type(rec, ResponseStarted)) == 1
    finals = of_type(rec, UserTranscriptFinal)
    assert len(finals) == 1
    text = finals[0].text.lower()
    assert "capital" in text and "france" in text
    assert "paris" in of_type(rec, ResponseDone)[0].text.lower()


async def test_spoken_style_request_changes_the_audio(stack) -> None:
    rec, session = await converse(
        stack,
        [
            Utterance(synth("Please speak slower."), when="at"),
            Utterance(synth("Please speak louder.")),
        ],
    )
    styles = of_type(rec, StyleChanged)
    assert len(styles) == 2
    assert styles[0].speed < 1.0 and styles[1].volume > 1.0
    acks = of_type(rec, ResponseDone)
    slow, loud = (audio_of(rec, d.response_id) for d in acks[:2])
    # the same phrases at the default style: slower speech lasts longer (speed 0.8: ×1.25)
    phrases = [
        d.text.strip() for d in of_type(rec, AgentTextDelta) if d.response_id == acks[0].response_id
    ]
    normal = [
        phrase_audio(stack.synthesize(p, SpeakingStyle()), stack.tts_rate, p) for p in phrases
    ]
    normal_s = sum(len(a) for a in normal) / stack.tts_rate
    ratio = len(slow) / 24000 / normal_s
    print(f"duration ratio {ratio:.3f}")
    assert ratio > 1.12, ratio  # nominal 1.25; piper varies durations by a few percent
    assert rms_dbfs(loud) > rms_dbfs(slow) + 3.0  # louder speech has more energy
