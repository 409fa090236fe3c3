"""`openai-agents`' RealtimeRunner with a function tool, against a live antiphon server on
the real cascade: a spoken question, the SDK runs the tool, a spoken answer comes back.
The SDK validates every server event with pydantic; any mismatch surfaces as an error."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from speech import synth

from antiphon.audio.io import float_to_pcm16


async def test_openai_agents_realtime_runner_with_function_tool(any_server) -> None:  # type: ignore[no-untyped-def]
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return f"The weather in {city} is sunny and 21 degrees."

    agent = RealtimeAgent(
        name="Assistant",
        instructions="You are a voice assistant. Answer in one short sentence. When asked about the weather, call get_weather.",
        tools=[get_weather],
    )
    runner = RealtimeRunner(
        starting_agent=agent,
        config={
            "model_settings": {
                "model_name": "antiphon",
                "modalities": ["audio"],
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
            }
        },
    )
    question = np.concatenate(
        [
            np.zeros(4800, np.float32),
            synth("What is the weather in Paris today?", sample_rate=24000),
            np.zeros(24000 * 2, np.float32),
        ]
    )
    audio = bytearray()
    kinds: list[str] = []
    errors: list[str] = []
    session = await runner.run(
        model_config={
            "url": any_server.ws_url + "/v1/realtime?model=antiphon",
            "api_key": "sk-local",
        }
    )
    async with session:

        async def talk() -> None:
            t0 = time.monotonic()
            for i in range(0, len(question), 960):
                await session.send_audio(float_to_pcm16(question[i : i + 960]))
                await asyncio.sleep(max(0.0, t0 + (i + 960) / 24000 - time.monotonic()))

        sender = asyncio.create_task(talk())
        tool_done = False
        before_tool: set[str] = set()  # items already speaking when the tool ended (a filler)
        try:
            async with asyncio.timeout(120):
                async for ev in session:
                    kinds.append(ev.type)
                    if ev.type == "error":
                        errors.append(str(ev.error))
                    elif ev.type == "tool_end":
                        tool_done = True
                    elif ev.type == "audio" and not tool_done:
                        before_tool.add(ev.item_id)
                    elif ev.type == "audio" and ev.item_id not in before_tool:
                        audio += ev.audio.data  # the answer, made after the tool's result
                    elif ev.type == "audio_end" and audio and ev.item_id not in before_tool:
                        break
        except TimeoutError:
            raise AssertionError(
                f"no spoken answer after the tool; tool calls={calls} events={kinds[-30:]}"
            ) from None

        history = list(session._history)  # the SDK's own view of the conversation
        await sender
    assert not errors, errors
    assert calls and "paris" in calls[0].lower(), kinds
    assert len(audio) > 24000  # half a second of PCM16 after the tool ran
    transcripts = " ".join(
        str(getattr(part, "transcript", "") or getattr(part, "text", "") or "")
        for item in history
        for part in getattr(item, "content", []) or []
    ).lower()
    assert "weather" in transcripts and "paris" in transcripts, transcripts
    assert any(w in transcripts for w in ("sunny", "21", "twenty")), transcripts
