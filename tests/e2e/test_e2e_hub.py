"""One process, several conversations: sessions share one batched step per frame, and a
brain that falls behind drops and reports frames instead of queueing latency."""

from __future__ import annotations

import numpy as np

from antiphon.e2e.brain import MAX_QUEUED_FRAMES, E2EBrain
from antiphon.e2e.hub import E2EHub
from antiphon.lm.sampling import SamplingParams
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import AppendAudio
from antiphon.session.events import AgentTextDelta, ErrorEvent, Event
from antiphon.session.session import Session


def _drain(session: Session) -> list[Event]:
    out = []
    while (e := session.next_event_nowait()) is not None:
        out.append(e)
    return out


def _voice(seconds: float, pitch: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 24000)) / 24000
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    tone = 0.2 * env * np.sin(2 * np.pi * pitch * t)
    return (tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


async def test_two_sessions_share_one_batched_step_per_frame(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    hub = E2EHub(tiny_stack, slots=2, params=SamplingParams(seed=0), seeds=[1, 2])
    brains = [E2EBrain(tiny_stack, hub=hub, seed=s) for s in (1, 2)]
    audio = [_voice(2.0, 150, 0), _voice(2.0, 240, 1)]
    async with Session(brains[0], clock=clock) as a, Session(brains[1], clock=clock) as b:
        for i in range(0, len(audio[0]), 480):
            await a.send(AppendAudio(audio[0][i : i + 480], 24000))
            await b.send(AppendAudio(audio[1][i : i + 480], 24000))
            await clock.advance(0.02)
            await a.settle()
            await b.settle()
        events = [_drain(a), _drain(b)]
        assert brains[0].slot == 0 and brains[1].slot == 1
    assert brains[0].frames_done == brains[1].frames_done >= 24  # 2 s = 25 frames of 80 ms
    assert hub.steps == brains[0].frames_done  # one batched step served both conversations
    assert hub.padded == 0
    assert not any(isinstance(e, ErrorEvent) for ev in events for e in ev)
    texts = ["".join(e.text for e in ev if isinstance(e, AgentTextDelta)) for ev in events]
    assert texts[0] and texts[1] and texts[0] != texts[1], texts  # two conversations


async def test_a_full_queue_drops_and_reports_frames(tiny_stack) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    brain = E2EBrain(tiny_stack)
    async with Session(brain, clock=clock) as session:
        # 1 s of audio arrives at once while the model is busy: 12.5 frames for a queue of 4.
        await session.send(AppendAudio(_voice(1.0, 180, 0), 24000))
        await session.settle()
        events = _drain(session)
    assert brain.frames_dropped >= 12 - MAX_QUEUED_FRAMES - 1
    assert brain.frames_done + brain.frames_dropped == 12
    reports = [e for e in events if isinstance(e, ErrorEvent) and e.code == "frames_dropped"]
    assert reports and "slower than real time" in reports[0].message
