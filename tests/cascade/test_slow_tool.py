"""A slow tool: the agent says a short filler instead of dead air, then the answer."""

from __future__ import annotations

import time

import pytest
from dialogue import ScriptedLLM

from antiphon.apps.factory import new_session
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import CreateResponse, UserText
from antiphon.session.events import AgentTextDelta, Event, ResponseDone, ToolResultSpoken

pytestmark = pytest.mark.models

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather forecast for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def _slow_weather(city: str) -> dict[str, str]:
    time.sleep(1.5)  # a remote lookup
    return {"city": city, "forecast": "sunny, 21 degrees"}


async def test_slow_tool_gets_a_filler_then_the_answer(stack) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(
        stack,
        [
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>',
            "It will be sunny in Lyon, 21 degrees.",
        ],
    )
    clock = VirtualClock()
    events: list[Event] = []
    async with new_session(llm, clock=clock) as session:  # type: ignore[arg-type]
        session.brain.tools.demo_enabled = True  # type: ignore[attr-defined]
        session.brain.tools.local.registry.register(_slow_weather, WEATHER, slow=True)  # type: ignore[attr-defined]
        await session.send(UserText("What's the weather in Lyon?"))
        await session.send(CreateResponse())
        for _ in range(400):
            await session.settle()
            await clock.advance(0.05)
            while (ev := session.next_event_nowait()) is not None:
                events.append(ev)
            if any(isinstance(e, ResponseDone) for e in events):
                break
    result_at = next(i for i, e in enumerate(events) if isinstance(e, ToolResultSpoken))
    # everything said before the result came back is the filler, spoken while the tool ran
    before = "".join(e.text for e in events[:result_at] if isinstance(e, AgentTextDelta))
    assert before.strip() == stack.filler_text()
    done = next(e for e in events if isinstance(e, ResponseDone))
    assert done.text.startswith(stack.filler_text()) and "sunny" in done.text
