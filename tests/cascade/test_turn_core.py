"""The cascade's turn logic on in-memory models (tests/fake_services.py): turn-taking,
barge-in with what the user heard, a client's cancel and truncate, a tool flow, failing
models. No model is loaded; the session runs on a VirtualClock, so each test takes well
under a second of compute."""

from __future__ import annotations

import json
import time
from typing import TypeVar

import numpy as np
from dialogue import audio_of, converse, event_names, of_type, timed
from fake_services import AGENT_WORD_S, FakeServices, Reply

from antiphon.apps.factory import new_session
from antiphon.cascade.conversation import Message
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import CancelResponse, CreateResponse, Truncate, UserText
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Event,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    ToolResultSpoken,
    UserSpeechStarted,
    UserTranscriptFinal,
)
from antiphon.session.scripted import Utterance
from antiphon.session.session import Session

E = TypeVar("E")
STORY = " ".join(f"word{i}" for i in range(40)) + "."  # 10 s of agent speech


def answers(table: dict[str, str]) -> Reply:
    """A chat model that answers the last user message by a keyword of it."""

    def reply(messages: list[Message]) -> str:
        last = next(m.content for m in reversed(messages) if m.role == "user")
        return next((a for k, a in table.items() if k in last), "I see.")

    return reply


def memory(session: Session) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in session.brain.conv.messages]  # type: ignore[attr-defined]


async def test_a_question_is_answered_and_remembered() -> None:
    fake = FakeServices(reply=answers({"France": "Paris is the capital of France."}))
    question = "What is the capital of France?"
    rec, session = await converse(fake, [Utterance(fake.voice.say(question), when="at")])
    order = ["UserSpeechStarted", "UserSpeechStopped", "UserTranscriptFinal"]
    order += ["ResponseStarted", "ResponseDone"]
    assert [n for n in event_names(rec) if n in order] == order
    assert of_type(rec, UserTranscriptFinal)[0].text == question
    done = of_type(rec, ResponseDone)[0]
    assert done.status == "completed" and done.text == "Paris is the capital of France."
    assert len(audio_of(rec, done.response_id)) == 6 * AGENT_WORD_S * 24000
    assert memory(session)[-2:] == [("user", question), ("assistant", done.text)]


async def test_a_pause_inside_the_sentence_does_not_end_the_turn() -> None:
    """Both verdicts say "unfinished": a 0.6 s pause waits for max_silence_ms (1.5 s)."""
    fake = FakeServices(turn_complete=0.1, reply=answers({"weather": "Sunny."}))
    pause = np.zeros(int(0.6 * 16000), np.float32)
    audio = np.concatenate([fake.voice.say("What is the"), pause, fake.voice.say("weather?")])
    rec, _ = await converse(fake, [Utterance(audio, when="at")])
    assert [f.text for f in of_type(rec, UserTranscriptFinal)] == ["What is the weather?"]
    assert len(of_type(rec, UserSpeechStarted)) == 1
    assert [d.text for d in of_type(rec, ResponseDone)] == ["Sunny."]
    # a reply to "What is the" was speculated at the pause and dropped without a trace
    assert fake.prompts[0][-1].content == "What is the"
    assert len(of_type(rec, ResponseStarted)) == 1


async def test_barge_in_keeps_only_what_the_user_heard() -> None:
    fake = FakeServices(reply=answers({"story": STORY, "Japan": "Tokyo."}))
    rec, session = await converse(
        fake,
        [
            Utterance(fake.voice.say("Tell me a story."), when="at"),
            Utterance(
                fake.voice.say("Wait, what is the capital of Japan?"),
                when="agent_speaking",
                start_s=2.0,
            ),
        ],
    )
    (t_cut, cut), (_, answer) = timed(rec, ResponseDone)
    assert cut.status == "cancelled" and cut.reason == "turn_detected"
    # the decision needs interrupt_min_speech_ms (400) of overlap speech; playback holds
    # from the first chunk of it, so the user heard 2.0-2.5 s of the story
    assert cut.heard_ms is not None and 2000 <= cut.heard_ms <= 2500
    assert not [
        t for t, ev in timed(rec, AudioChunk) if ev.response_id == cut.response_id and t > t_cut
    ]
    # the words heard are those played by heard_ms: AGENT_WORD_S each
    heard_words = cut.text.split()
    assert heard_words == STORY.split()[: len(heard_words)]
    assert abs(len(heard_words) - cut.heard_ms / 1000 / AGENT_WORD_S) <= 1
    generated = "".join(
        d.text for d in of_type(rec, AgentTextDelta) if d.response_id == cut.response_id
    )
    assert len(cut.text) < len(generated)
    roles = memory(session)
    assert ("assistant", cut.text + "…") in roles
    assert [f.text for f in of_type(rec, UserTranscriptFinal)][
        -1
    ] == "Wait, what is the capital of Japan?"
    assert answer.status == "completed" and answer.text == "Tokyo."
    # the reply to the interruption was written knowing what the user had heard
    assert any(m.content == cut.text + "…" for m in fake.prompts[-1])


async def test_a_backchannel_does_not_stop_the_agent() -> None:
    fake = FakeServices(reply=answers({"story": STORY}))
    rec, _ = await converse(
        fake,
        [
            Utterance(fake.voice.say("Tell me a story."), when="at"),
            Utterance(fake.voice.say("Uh huh."), when="agent_speaking", start_s=1.5),
        ],
    )
    dones = of_type(rec, ResponseDone)
    assert [d.status for d in dones] == ["completed"] and dones[0].text == STORY


async def test_a_tool_call_is_run_and_its_result_spoken() -> None:
    call = {"name": "control_lights", "arguments": {"room": "kitchen", "state": "on"}}
    fake = FakeServices(
        replies=[f"<tool_call>\n{json.dumps(call)}\n</tool_call>", "The kitchen light is on."]
    )
    rec, session = await converse(
        fake, [Utterance(fake.voice.say("Turn on the kitchen light."), when="at")]
    )
    (tool_call,) = of_type(rec, ToolCall)
    assert tool_call.name == "control_lights"
    (result,) = of_type(rec, ToolResultSpoken)
    assert result.call_id == tool_call.call_id and json.loads(result.output)["ok"] is True
    assert session.brain.tools.local.home.lights["kitchen"] is True  # type: ignore[attr-defined]
    (done,) = of_type(rec, ResponseDone)
    # the filler covers the time the call takes; then the result is spoken
    assert done.status == "completed"
    assert done.text == f"{fake.filler_text()} The kitchen light is on."
    # the second pass saw the call and its result
    assert [m.role for m in fake.prompts[1][-3:]] == ["user", "assistant", "tool"]
    assert len(fake.prompts) == 2


async def test_a_failing_recognizer_resets_the_turn_with_an_error() -> None:
    """A model call that raises in a background task becomes an error event and a clean
    turn reset: the next turn is heard and answered."""
    fake = FakeServices(reply=answers({"France": "Paris."}))
    transcribe = fake.transcribe
    failed: list[int] = []

    def flaky(audio16k: np.ndarray, prompt: str | None = None, quick: bool = False) -> str:
        if not quick and not failed:  # the first turn's final decode
            failed.append(1)
            raise RuntimeError("recognizer crashed")
        return transcribe(audio16k, prompt, quick)

    fake.transcribe = flaky  # type: ignore[method-assign]
    question = fake.voice.say("What is the capital of France?")
    rec, _ = await converse(fake, [Utterance(question, when="at"), Utterance(question, gap_s=1.0)])
    errors = [e for e in of_type(rec, ErrorEvent) if e.code == "turn_failed"]
    assert errors and "recognizer crashed" in errors[0].message
    assert [d.text for d in of_type(rec, ResponseDone)] == ["Paris."]


async def test_a_failing_verdict_drops_the_turn_and_its_speculation() -> None:
    """The acoustic end-of-turn verdict raises after the speculative reply to the first
    question has started: the turn is reset, and that reply never answers the next one."""
    fake = FakeServices(reply=answers({"France": "Paris.", "Japan": "Tokyo."}))
    verdict = fake.complete_probability
    failed: list[int] = []

    def flaky(audio16k: np.ndarray) -> float:
        if not failed:
            failed.append(1)
            time.sleep(0.2)  # (real time) after the transcript and the speculation
            raise RuntimeError("verdict crashed")
        return verdict(audio16k)

    fake.complete_probability = flaky  # type: ignore[method-assign]
    rec, _ = await converse(
        fake,
        [
            Utterance(fake.voice.say("What is the capital of France?"), when="at"),
            Utterance(fake.voice.say("What is the capital of Japan?"), gap_s=1.0),
        ],
    )
    assert [e.code for e in of_type(rec, ErrorEvent)] == ["turn_failed"]
    assert [d.text for d in of_type(rec, ResponseDone)] == ["Tokyo."]


async def _text_turn_stopped_by(command: str) -> tuple[list[Event], list[tuple[str, str]]]:
    """A text question whose 10 s spoken answer the client stops 1.2 s in: with a cancel,
    or with a truncate at 1.0 s while the answer goes on."""
    fake = FakeServices(replies=[STORY])
    clock = VirtualClock()
    events: list[Event] = []
    async with new_session(fake, clock=clock) as session:  # type: ignore[arg-type]
        await session.send(UserText("Tell me a story."))
        await session.send(CreateResponse())
        for step in range(800):  # up to 16 s
            await session.settle()
            await clock.advance(0.02)
            while (ev := session.next_event_nowait()) is not None:
                events.append(ev)
            if step == 60:  # 1.2 s of the answer played
                item = of_events(events, ResponseStarted)[0].item_id
                stop = CancelResponse() if command == "cancel" else Truncate(item, 1000)
                await session.send(stop)
            if of_events(events, ResponseDone):
                break
        return events, memory(session)


def of_events(events: list[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


async def test_a_client_cancel_keeps_the_words_heard() -> None:
    events, remembered = await _text_turn_stopped_by("cancel")
    (done,) = of_events(events, ResponseDone)
    assert done.status == "cancelled" and done.reason == "client_cancelled"
    assert done.heard_ms is not None and 1100 <= done.heard_ms <= 1300
    assert done.text == " ".join(STORY.split()[: int(done.heard_ms / 1000 / AGENT_WORD_S)])
    assert remembered[-1] == ("assistant", done.text + "…")


async def test_a_truncate_during_the_answer_keeps_the_words_heard_by_then() -> None:
    events, remembered = await _text_turn_stopped_by("truncate")
    (done,) = of_events(events, ResponseDone)
    assert done.status == "completed" and done.text == STORY  # it was all sent
    assert remembered[-1] == ("assistant", " ".join(STORY.split()[:4]))  # 1.0 s heard
