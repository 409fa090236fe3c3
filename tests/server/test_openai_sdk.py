"""The `openai` Python SDK (`client.realtime.connect`) against a live antiphon server on the
real cascade: a spoken question in real time, a function call round trip, and a spoken
answer with its transcript. Prints the voice-to-voice latency seen by the client."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import numpy as np
import pytest
from speech import synth

from antiphon.audio.io import float_to_pcm16
from antiphon.session.scripted import voiced_end

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
INSTRUCTIONS = (
    "You are a voice assistant. Answer in one short sentence. "
    "When the user asks about the weather, call get_weather once, then tell the user the result."
)
WEATHER_OUTPUT = "It is sunny and 21 degrees Celsius in Paris."


async def speak(conn, audio24k: np.ndarray, trailing_s: float = 1.6) -> float:  # type: ignore[no-untyped-def]
    """Append audio in 40 ms chunks paced in real time; returns the time speech ended."""
    chunk = 960
    audio = np.concatenate([np.zeros(4800, np.float32), audio24k])
    t0 = time.monotonic()
    for i in range(0, len(audio), chunk):
        await conn.input_audio_buffer.append(
            audio=base64.b64encode(float_to_pcm16(audio[i : i + chunk])).decode()
        )
        await asyncio.sleep(max(0.0, t0 + (i + chunk) / 24000 - time.monotonic()))
    speech_end = t0 + 0.2 + voiced_end(audio24k, 24000)  # the last voiced 10 ms, not the file's end
    silence = np.zeros(chunk, np.float32)
    for _ in range(int(trailing_s * 24000 / chunk)):
        await conn.input_audio_buffer.append(
            audio=base64.b64encode(float_to_pcm16(silence)).decode()
        )
        await asyncio.sleep(0.04)
    return speech_end


async def test_openai_sdk_spoken_turn_and_function_call(any_server) -> None:  # type: ignore[no-untyped-def]
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        api_key="sk-local",
        base_url=any_server.url + "/v1",
        websocket_base_url=any_server.ws_url + "/v1",
    )
    question = synth("What is the weather in Paris today?", sample_rate=24000)
    async with client.realtime.connect(model="antiphon") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "instructions": INSTRUCTIONS,
                "output_modalities": ["audio"],
                "tools": [WEATHER_TOOL],
                "tool_choice": "auto",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                    },
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
                },
            }
        )
        sender = asyncio.create_task(speak(conn, question))
        heard, call, audio, transcript, done = "", None, bytearray(), "", []
        first_audio_t = None
        seen: list[str] = []
        answered: set[str] = set()
        try:
            async with asyncio.timeout(90):
                async for ev in conn:
                    seen.append(ev.type)
                    if ev.type == "conversation.item.input_audio_transcription.completed":
                        heard = ev.transcript
                    elif ev.type == "response.function_call_arguments.done":
                        call = ev
                    elif ev.type == "response.output_audio.delta":
                        first_audio_t = first_audio_t or time.monotonic()
                        audio += base64.b64decode(ev.delta)
                    elif ev.type == "response.output_audio_transcript.delta":
                        transcript += ev.delta
                    elif ev.type == "error":
                        raise AssertionError(f"server error: {ev.error}")
                    elif ev.type == "response.done":
                        done.append(ev.response)
                        pending = call is not None and call.call_id not in answered
                        if audio and not pending:  # a filler may come with the call: go on
                            break
                        if call is not None and call.call_id not in answered and len(answered) < 3:
                            # the model asked for the tool: answer it and ask for the spoken reply
                            answered.add(call.call_id)
                            await conn.conversation.item.create(
                                item={
                                    "type": "function_call_output",
                                    "call_id": call.call_id,
                                    "output": WEATHER_OUTPUT,
                                }
                            )
                            await conn.response.create(
                                response={"metadata": {"step": "after_tool"}}
                            )
        except TimeoutError:
            kinds = [
                k
                for i, k in enumerate(seen)
                if k != "response.output_audio.delta" or seen[i - 1] != k
            ]
            raise AssertionError(
                f"timed out; heard={heard!r} said={transcript!r} events={kinds}"
            ) from None
        speech_end = await sender
    assert "weather" in heard.lower() and "paris" in heard.lower(), heard
    assert call is not None and call.name == "get_weather", f"no tool call; said {transcript!r}"
    assert "paris" in json.loads(call.arguments).get("city", "").lower()
    final = done[-1]
    assert final.status == "completed" and final.metadata == {"step": "after_tool"}
    assert len(audio) > 24000 * 2 * 0.5  # at least half a second of speech
    assert any(w in transcript.lower() for w in ("sunny", "21", "twenty")), transcript
    first_turn_v2v = None
    if done[0].output and done[0].output[0].type == "function_call":
        first_turn_v2v = None  # the first audio came after the tool round trip
    print(
        f"\n[openai sdk] heard={heard!r} tool={call.arguments} answer={transcript!r} "
        f"audio={len(audio) / 48000:.1f}s end_of_speech_to_tool_answer_audio={(first_audio_t or 0) - speech_end:.2f}s {first_turn_v2v}"
    )


@pytest.mark.models
@pytest.mark.slow
async def test_openai_sdk_voice_to_voice_latency(cascade_server) -> None:  # type: ignore[no-untyped-def]
    """A plain spoken question: the time from the end of the user's speech to the first
    agent audio, as the openai client sees it through the server."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        api_key="sk-local",
        base_url=cascade_server.url + "/v1",
        websocket_base_url=cascade_server.ws_url + "/v1",
    )
    question = synth("What is the capital of France?", sample_rate=24000)
    async with client.realtime.connect(model="antiphon") as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"]})
        sender = asyncio.create_task(speak(conn, question))
        first_audio_t, transcript, audio_bytes = None, "", 0
        async with asyncio.timeout(60):
            async for ev in conn:
                if ev.type == "response.output_audio.delta":
                    first_audio_t = first_audio_t or time.monotonic()
                    audio_bytes += len(base64.b64decode(ev.delta))
                elif ev.type == "response.output_audio_transcript.delta":
                    transcript += ev.delta
                elif ev.type == "response.done":
                    break
        speech_end = await sender
    assert first_audio_t is not None and audio_bytes > 24000
    assert "paris" in transcript.lower(), transcript
    v2v = first_audio_t - speech_end
    print(
        f"\n[openai sdk] voice-to-voice latency through the server: {v2v * 1000:.0f} ms; answer={transcript!r}"
    )
