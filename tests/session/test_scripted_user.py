"""The scripted user (demo, benches): a line said over the agent is a question, and the next
"after_agent" line waits for its answer, not for the reply the barge-in cut off."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

from fake_brain import FakeBrain  # noqa: E402

from antiphon.session.clock import VirtualClock  # noqa: E402
from antiphon.session.events import AudioChunk, ResponseStarted  # noqa: E402
from antiphon.session.scripted import Utterance, run_script  # noqa: E402
from antiphon.session.session import Session  # noqa: E402


class ThinkingBrain(FakeBrain):
    """The fake brain, but every reply needs ``think_s`` before it starts (a tool call)."""

    def __init__(self, think_s: float) -> None:
        super().__init__(reply_s=2.0)
        self.think_s = think_s

    async def _speak(self, rid: str, heard: str) -> None:
        await self.ctx.clock.sleep(self.think_s)
        await super()._speak(rid, heard)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


async def test_after_agent_line_waits_for_the_answer_to_a_barge_in() -> None:
    script = [
        Utterance(_tone(1.0), label="question"),
        Utterance(_tone(1.0), when="agent_speaking", start_s=0.5, label="barge-in question"),
        Utterance(_tone(1.0), label="next"),
    ]
    session = Session(ThinkingBrain(think_s=2.5), clock=VirtualClock(), echo_cancel=False)
    async with session:
        rec = await run_script(session, script, max_s=60.0)
    barge_in, nxt = rec.played[1], rec.played[2]
    answers = {
        ev.response_id
        for t, ev in rec.events
        if isinstance(ev, ResponseStarted) and t > barge_in.start_s
    }
    audio = [t for t, ev in rec.events if isinstance(ev, AudioChunk) and ev.response_id in answers]
    assert audio, "the barge-in question got no reply"
    assert nxt.start_s > audio[0], (nxt.start_s, audio[0])  # heard the answer first
