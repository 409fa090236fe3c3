"""Speech from across the room while the agent talks (cascade/overlap.py, far_db): on the
in-memory models (tests/fake_services.py), so the level rule itself is what is tested."""

from __future__ import annotations

from dialogue import converse, of_type
from fake_services import FakeServices
from test_turn_core import STORY, answers

from antiphon.session.events import ResponseDone, UserSpeechStarted
from antiphon.session.scripted import Utterance

QUESTION = "Tell me a story please now."
OTHER = "Did you remember to buy milk on the way home?"


async def _overlap_at(gain: float) -> list[ResponseDone]:
    fake = FakeServices(reply=answers({"story": STORY, "milk": "Yes."}))
    rec, _ = await converse(
        fake,
        [
            Utterance(2.0 * fake.voice.say(QUESTION), when="at"),
            Utterance(gain * fake.voice.say(OTHER), when="agent_speaking", start_s=2.0),
        ],
    )
    assert len(of_type(rec, UserSpeechStarted)) >= 1
    return of_type(rec, ResponseDone)


async def test_speech_12_db_below_the_user_does_not_stop_the_agent() -> None:
    dones = await _overlap_at(0.5)  # the user's own turn was at 2.0: 12 dB louder
    assert [d.status for d in dones] == ["completed"] and dones[0].text == STORY


async def test_the_same_speech_at_the_users_level_takes_the_floor() -> None:
    dones = await _overlap_at(2.0)
    assert [d.status for d in dones] == ["cancelled", "completed"]
    assert dones[1].text == "Yes."
