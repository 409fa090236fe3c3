"""`antiphon demo`'s conversation: recognised questions, sensible answers, a tool call
that is executed and spoken, and a barge-in that cuts the agent off."""

from __future__ import annotations

import re

import pytest

from antiphon.apps.demo import SCRIPT_EN, converse, latency_lines
from antiphon.session.events import ResponseDone, StyleChanged, ToolCall, UserTranscriptFinal

pytestmark = [pytest.mark.models, pytest.mark.slow]


async def test_demo_conversation(stack, capsys) -> None:  # type: ignore[no-untyped-def]
    rec = await converse(stack, SCRIPT_EN, realtime=False)
    events = [ev for _, ev in rec.events]
    heard = [e.text.lower() for e in events if isinstance(e, UserTranscriptFinal)]
    assert any("capital" in h and "france" in h for h in heard)
    dones = [e for e in events if isinstance(e, ResponseDone)]
    assert "paris" in dones[0].text.lower()
    assert any(isinstance(e, ToolCall) and e.name == "control_lights" for e in events)
    assert any(d.status == "cancelled" and d.reason == "turn_detected" for d in dones)
    # the question asked over the agent is answered before the script goes on (the reply the
    # barge-in cut off is no answer to it)
    assert any(isinstance(e, ToolCall) and e.name == "get_current_time" for e in events)
    assert any(d.status == "completed" and re.search(r"\d:\d\d", d.text) for d in dones)
    assert any(isinstance(e, StyleChanged) and e.speed < 1.0 for e in events)
    printed = capsys.readouterr().out
    assert "USER : " in printed and "TOOL : control_lights" in printed and "cut off by" in printed
    assert all("voice-to-voice" in line for line in latency_lines(rec))
