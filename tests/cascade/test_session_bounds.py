"""What one session may hold is bounded, and each bound answers with a specific error
event: audio ahead of real time, the manual-commit buffer, the conversation, one text
item. The session goes on after each."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.apps.factory import new_session
from antiphon.cascade import brain_bounds
from antiphon.cascade.brain_commands import MAX_ITEM_CHARS
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import AppendAudio, Commit, Configure, UserText
from antiphon.session.events import ErrorEvent, Event, UserTranscriptFinal
from antiphon.session.session import Session

pytestmark = pytest.mark.models
RATE = 16000


def _drain(session: Session) -> list[Event]:
    out = []
    while (ev := session.next_event_nowait()) is not None:
        out.append(ev)
    return out


def _codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, ErrorEvent)]


async def test_audio_ahead_of_real_time_is_refused_and_counted(stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    session = new_session(stack, clock=clock)
    session.max_input_lead_ms = 2000
    async with session:
        for _ in range(4):  # 4 x 1 s at once: the first two fit the 2 s lead
            await session.send(AppendAudio(np.zeros(RATE, np.float32), RATE))
        assert _codes(_drain(session)) == ["input_audio_ahead_of_real_time"] * 2
        assert session.refused_appends == 2 and session.refused_audio_s == 2.0
        await clock.advance(2.0)  # real time caught up: audio is welcome again
        await session.send(AppendAudio(np.zeros(RATE, np.float32), RATE))
        assert _codes(_drain(session)) == []


async def test_a_session_that_fell_behind_catches_up_without_refusals(stack) -> None:  # type: ignore[no-untyped-def]
    """A real-time client whose appends this session handles late (a slow step held the
    loop for 3 s) is not refused when the queued 20 ms appends arrive all at once."""
    clock = VirtualClock()
    session = new_session(stack, clock=clock)
    session.max_input_lead_ms = 2000
    async with session:
        await session.send(AppendAudio(np.zeros(RATE // 50, np.float32), RATE))
        await clock.advance(3.0)  # the client kept sending; nothing was processed
        for _ in range(150):  # its 3 s of queued 20 ms appends, handled back to back
            await session.send(AppendAudio(np.zeros(RATE // 50, np.float32), RATE))
        assert _codes(_drain(session)) == []
        assert session.refused_appends == 0


async def test_manual_buffer_conversation_and_item_limits(stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(brain_bounds, "MAX_MANUAL", 2 * RATE)
    monkeypatch.setattr(brain_bounds, "MAX_ITEMS", 5)
    async with new_session(stack, clock=VirtualClock()) as session:
        await session.send(Configure(clear_turn_detection=True))
        for _ in range(4):  # 4 s into a 2 s buffer: one error, the rest dropped
            await session.send(AppendAudio(np.zeros(RATE, np.float32), RATE))
        assert _codes(_drain(session)) == ["input_audio_buffer_full"]
        brain = session.brain
        assert brain.manual.samples <= 2 * RATE  # type: ignore[attr-defined]
        await session.send(Commit())
        await session.settle()
        assert any(isinstance(e, UserTranscriptFinal) for e in _drain(session))

        await session.send(UserText("x" * (MAX_ITEM_CHARS + 1)))
        assert _codes(_drain(session)) == ["invalid_command"]
        for i in range(7):
            await session.send(UserText(f"note {i}"))
        assert _codes(_drain(session)) == ["conversation_item_dropped"] * 2
        texts = [m.content for m in brain.conv.messages]  # type: ignore[attr-defined]
        assert texts == [f"note {i}" for i in range(2, 7)]
