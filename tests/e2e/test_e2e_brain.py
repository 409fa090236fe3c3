"""The end-to-end brain in a Session (virtual time): user frames in, agent audio and
inner-monologue text out as session events; cancel; unsupported commands; idle input."""

from __future__ import annotations

import numpy as np

from antiphon.e2e.brain import E2EBrain
from antiphon.e2e.turns import AgentTurns, UserActivity
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import AppendAudio, CancelResponse, Configure, Tool, UserText
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Event,
    Metrics,
    ResponseDone,
    ResponseStarted,
    UserSpeechStarted,
    UserSpeechStopped,
)
from antiphon.session.session import Session


def _drain(session: Session) -> list[Event]:
    out = []
    while (e := session.next_event_nowait()) is not None:
        out.append(e)
    return out


async def _feed(session: Session, clock: VirtualClock, audio: np.ndarray) -> None:
    for i in range(0, len(audio), 480):
        await session.send(AppendAudio(audio[i : i + 480], 24000))
        await clock.advance(0.02)
        await session.settle()


def _speechlike(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 24000)) / 24000
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (0.2 * env * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(len(t))).astype(
        np.float32
    )


async def test_frames_become_session_events(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    brain = E2EBrain(tiny_stack)
    async with Session(brain, clock=clock) as session:
        await _feed(session, clock, np.concatenate([_speechlike(2.0), np.zeros(24000, np.float32)]))
        await clock.advance(1.0)  # let the pacer release the audio
        events = _drain(session)
        assert brain.frames_done >= 37  # 3 s of input = 37.5 frames of 80 ms
        kinds = [type(e) for e in events]
        assert UserSpeechStarted in kinds and UserSpeechStopped in kinds
        started = [e for e in events if isinstance(e, ResponseStarted)]
        assert started, "the random model's monologue has words, so the agent speaks"
        rid = started[0].response_id
        audio = [e for e in events if isinstance(e, AudioChunk) and e.response_id == rid]
        text = [e for e in events if isinstance(e, AgentTextDelta) and e.response_id == rid]
        assert audio and all(e.sample_rate == 24000 for e in audio)
        assert sum(len(e.audio) for e in audio) >= 1920 * len(text)  # a frame per word or more
        assert any(t.text.strip() for t in text)
        assert all(np.isfinite(e.audio).all() for e in audio)

        assert brain.agent.speaking  # random text: padding is 2 tokens of 256
        await session.send(CancelResponse())
        session_events = _drain(session)
        done = [e for e in session_events if isinstance(e, ResponseDone)]
        assert [d.status for d in done] == ["cancelled"] and done[0].response_id == rid
        metrics = [e for e in session_events if isinstance(e, Metrics) and e.response_id == rid]
        assert (
            metrics
            and metrics[0].values["frames"] >= 1
            and metrics[0].values["frame_compute_ms_p50"] > 0
        )


async def test_idle_client_keeps_the_model_running(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    brain = E2EBrain(tiny_stack)
    async with Session(brain, clock=clock) as session:
        await _feed(session, clock, _speechlike(0.4))
        before = brain.frames_done
        for _ in range(25):  # 2 s with no input at all
            await clock.advance(0.08)
            await session.settle()
        assert brain.frames_done - before >= 20  # ~12.5 frames/s on silence
        _drain(session)


async def test_unsupported_commands_get_clear_errors(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    async with Session(E2EBrain(tiny_stack), clock=clock) as session:
        await session.send(UserText("hello"))
        await session.send(Configure(tools=(Tool("f", "a tool"),)))
        errors = [e for e in _drain(session) if isinstance(e, ErrorEvent)]
        assert [e.code for e in errors] == ["unsupported_by_brain"] * 2
        assert "text input" in errors[0].message and "function calling" in errors[1].message
        await _feed(session, clock, _speechlike(0.4))  # the session still works
        assert session.brain.frames_done >= 4  # type: ignore[attr-defined]


def test_turns_from_the_streams() -> None:
    agent = AgentTurns(hangover=3)
    seq = [False, True, True, False, False, True, False, False, False, False]
    changes = [agent.update(w) for w in seq]
    assert changes == [None, "start", None, None, None, None, None, None, "end", None]
    user = UserActivity(start_frames=2, stop_frames=3)
    loud, quiet = np.full(1920, 0.1, np.float32), np.zeros(1920, np.float32)
    frames = [loud, quiet, loud, loud, loud, quiet, quiet, quiet]
    assert [user.update(f) for f in frames] == [None, None, None, "start", None, None, None, "end"]
