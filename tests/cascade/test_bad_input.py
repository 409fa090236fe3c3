"""Bad input gets a clear error event or a graceful spoken fallback, and the session goes on."""

from __future__ import annotations

import numpy as np
import pytest
from dialogue import ScriptedLLM, converse, of_type
from speech import synth

from antiphon.apps.factory import new_session
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import AppendAudio, Commit, Configure, CreateResponse, UserText
from antiphon.session.events import (
    ErrorEvent,
    Event,
    ResponseDone,
    ResponseStarted,
    ToolResultSpoken,
    UserTranscriptFinal,
)
from antiphon.session.scripted import Utterance

pytestmark = pytest.mark.models
RATE = 16000


def _drain(session) -> list[Event]:  # type: ignore[no-untyped-def]
    out = []
    while (ev := session.next_event_nowait()) is not None:
        out.append(ev)
    return out


async def test_bad_audio_formats_are_reported_and_the_session_lives(stack) -> None:
    clock = VirtualClock()
    async with new_session(stack, clock=clock) as session:
        await session.send(AppendAudio(np.zeros(1000, np.float32), 12345))
        await session.send(AppendAudio(np.zeros((4, 4, 4), np.float32), RATE))
        await session.send(AppendAudio(np.array([0.1, np.nan, 0.2], np.float32), RATE))
        await session.send(AppendAudio(np.zeros(100, np.int32), RATE))
        await session.send(AppendAudio(np.zeros(0, np.float32), RATE))  # empty: nothing to do
        errors = [e for e in _drain(session) if isinstance(e, ErrorEvent)]
        assert [e.code for e in errors] == ["invalid_audio"] * 4
        assert "12345" in errors[0].message and "NaN" in errors[2].message
        assert "int32" in errors[3].message
    # the same kind of session still answers a real question after such input
    rec, _ = await converse(
        stack,
        [Utterance(synth("What is the capital of France?"), when="at")],
        before=[AppendAudio(np.zeros(10, np.float32), 999)],
    )
    assert "paris" in of_type(rec, ResponseDone)[0].text.lower()


@pytest.mark.parametrize("kind", ["silence", "noise", "music"])
async def test_non_speech_input_gets_no_reply(stack, kind: str) -> None:
    t = np.arange(5 * RATE) / RATE
    rng = np.random.default_rng(0)
    audio = {
        "silence": np.zeros_like(t),
        "noise": 0.1 * rng.standard_normal(len(t)),
        # a chord progression with harmonics: steady tonal sound, no words
        "music": sum(
            0.08 * np.sin(2 * np.pi * f * (1 + (t > 2.5) * 0.25) * t) for f in (220, 277, 330, 440)
        ),
    }[kind].astype(np.float32)
    rec, _ = await converse(stack, [Utterance(audio, when="at")])
    assert not of_type(rec, ResponseStarted)
    assert all(not f.text for f in of_type(rec, UserTranscriptFinal))


MONOLOGUE = [
    "Yesterday I walked along the river for most of the afternoon.",
    "The boats were moving slowly and the water looked almost green.",
    "A man on the bridge was selling roasted chestnuts and hot tea.",
    "I bought a cup and sat on a bench near the old stone wall.",
    "Children were feeding the ducks with small pieces of bread.",
    "After a while the clouds came in and it started to rain a little.",
    "So I walked back home through the park and the market square.",
    "On the way I met an old friend from school and we talked for an hour.",
]


async def test_sixty_second_monologue_is_heard_out_and_answered(stack) -> None:
    gap = np.zeros(1600, np.float32)  # 0.1 s breaths: no pause long enough to end the turn
    parts: list[np.ndarray] = []
    while sum(len(p) for p in parts) < 60 * RATE:
        parts += [synth(MONOLOGUE[len(parts) // 2 % len(MONOLOGUE)]), gap]
    audio = np.concatenate([*parts, synth("What do you think about that?")])
    rec, _ = await converse(stack, [Utterance(audio, when="at")])
    finals = of_type(rec, UserTranscriptFinal)
    assert len(finals) == 1  # one turn, heard out to the end
    text = finals[0].text.lower()
    assert len(text.split()) >= 100 and "river" in text and "think about that" in text
    assert of_type(rec, ResponseDone)[0].status == "completed"


async def _send_then_go_quiet(stack, audio: np.ndarray, quiet_s: float) -> list[Event]:  # type: ignore[no-untyped-def]
    """Stream ``audio`` in real-time steps of a virtual clock, then send nothing at all for
    ``quiet_s``: the events of the quiet time."""
    clock = VirtualClock()
    async with new_session(stack, clock=clock) as session:
        for i in range(0, len(audio), 320):
            await session.send(AppendAudio(audio[i : i + 320], RATE))
            await session.settle()
            await clock.advance(0.02)
        events: list[Event] = []
        for _ in range(int(quiet_s / 0.02)):
            await clock.advance(0.02)
            await session.settle()
            events += _drain(session)
    return events


async def test_client_that_stops_sending_mid_utterance(stack) -> None:
    half = synth("What is the capital of France?")[: int(1.0 * RATE)]
    events = await _send_then_go_quiet(stack, half, 3.0)
    codes = [e.code for e in events if isinstance(e, ErrorEvent)]
    assert "input_audio_stalled" in codes
    finals = [e for e in events if isinstance(e, UserTranscriptFinal)]
    assert finals and "capital" in finals[0].text.lower()


async def test_client_that_stops_sending_in_the_pause_after_its_question(stack) -> None:
    """The question and a little silence (the VAD has seen the pause: a turn candidate is
    pending), then nothing: the turn must still end and be answered."""
    audio = np.concatenate([synth("What is the capital of France?"), np.zeros(3200, np.float32)])
    events = await _send_then_go_quiet(stack, audio, 5.0)
    finals = [e for e in events if isinstance(e, UserTranscriptFinal)]
    assert finals and "capital" in finals[0].text.lower()
    assert [e for e in events if isinstance(e, ResponseStarted)]


def _broken_thermostat(temperature: float) -> str:
    raise RuntimeError("thermostat offline")


THERMOSTAT = {
    "type": "function",
    "name": "set_thermostat",
    "description": "Set the heating temperature.",
    "parameters": {
        "type": "object",
        "properties": {"temperature": {"type": "number"}},
        "required": ["temperature"],
    },
}


async def _text_turn(llm: ScriptedLLM) -> list[Event]:
    clock = VirtualClock()
    async with new_session(llm, clock=clock) as session:  # type: ignore[arg-type]
        session.brain.tools.demo_enabled = True  # type: ignore[attr-defined]
        session.brain.tools.local.registry.register(_broken_thermostat, THERMOSTAT)  # type: ignore[attr-defined]
        await session.send(UserText("Turn on the kitchen lights."))
        await session.send(CreateResponse())
        events: list[Event] = []
        for _ in range(400):
            await session.settle()
            await clock.advance(0.05)
            events += _drain(session)
            if any(isinstance(e, ResponseDone) for e in events):
                break
        # the session still works: a second turn
        await session.send(UserText("Thanks."))
        await session.send(CreateResponse())
        for _ in range(200):
            await session.settle()
            await clock.advance(0.05)
            events += _drain(session)
    return events


async def test_malformed_tool_call_gets_an_error_and_a_spoken_fallback(stack) -> None:
    events = await _text_turn(
        ScriptedLLM(
            stack,
            ['<tool_call>\n{"name": "control_lights", "arguments": {room: kitchen}\n</tool_call>'],
        )
    )
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and errors[0].code == "tool_call_malformed" and "JSON" in errors[0].message
    dones = [e for e in events if isinstance(e, ResponseDone)]
    # the filler starts as soon as the call does, the fallback follows the failed call
    said = f"{stack.filler_text()} {stack.fallback_text()}"
    assert dones[0].text == said and len(dones) == 2


async def test_unknown_tool_gets_an_error_and_a_spoken_fallback(stack) -> None:
    events = await _text_turn(
        ScriptedLLM(
            stack, ['<tool_call>\n{"name": "launch_rocket", "arguments": {}}\n</tool_call>']
        )
    )
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and errors[0].code == "unknown_tool" and "launch_rocket" in errors[0].message
    said = f"{stack.filler_text()} {stack.fallback_text()}"
    assert [e for e in events if isinstance(e, ResponseDone)][0].text == said


async def test_tool_that_raises_is_reported_to_the_model_and_spoken_about(stack) -> None:
    llm = ScriptedLLM(
        stack,
        [
            '<tool_call>\n{"name": "set_thermostat", "arguments": {"temperature": 21}}\n</tool_call>',
            "Sorry, the thermostat in the garage is not answering.",
        ],
    )
    events = await _text_turn(llm)
    results = [e for e in events if isinstance(e, ToolResultSpoken)]
    assert results and "thermostat offline" in results[0].output
    done = [e for e in events if isinstance(e, ResponseDone)][0]
    assert done.status == "completed" and "garage" in done.text


async def test_manual_commit_of_an_empty_buffer_is_an_error(stack) -> None:
    async with new_session(stack, clock=VirtualClock()) as session:
        await session.send(Configure(clear_turn_detection=True))
        await session.send(Commit())
        errors = [e for e in _drain(session) if isinstance(e, ErrorEvent)]
    assert errors and "empty" in errors[0].message
