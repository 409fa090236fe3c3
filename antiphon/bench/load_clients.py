"""The clients of `antiphon bench load` (and of the capacity tests): real Realtime-protocol
WebSocket clients that speak in real time and time what they hear.

- ``talk``: one session asks one spoken question at a given moment and measures
  voice-to-voice latency (first answer audio after the end of its speech) and late audio
  (a listener with a 100 ms jitter buffer hears a gap); ``converse``: the same for several
  questions in turn on one session.
- ``flood``: a misbehaving client that appends seconds of noise per message, back to back.
- ``abort_mid_reply``: asks by text and vanishes (no close handshake) once the answer's
  audio starts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from antiphon.audio.io import float_to_pcm16
from antiphon.session.scripted import voiced_end

RATE, CHUNK, JITTER_S = 24000, 960, 0.1


@dataclass
class Turn:
    answered: bool = False
    v2v_s: float | None = None
    audio_s: float = 0.0
    late_s: float = 0.0
    answer: str = ""
    errors: list[str] = field(default_factory=list)
    refused: str | None = None  # the connection was refused (HTTP status and code)
    # the server's per-stage times after the end of speech (x.antiphon.metrics; only on a
    # URL with ?x_antiphon=1): eot_ms, asr_final_ms, llm_first_token_ms, tts_first_audio_ms
    stages: dict[str, float] = field(default_factory=dict)


def _b64(audio: np.ndarray) -> str:
    return base64.b64encode(float_to_pcm16(audio)).decode()


async def _connect(url: str) -> Any:
    import websockets

    ws = await websockets.connect(url, max_size=None, open_timeout=30)
    await ws.send(
        json.dumps(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["audio"]},
            }
        )
    )
    return ws


async def talk(url: str, question: np.ndarray, start_at: float, timeout_s: float) -> Turn:
    """Connect now, start speaking at ``start_at`` (time.monotonic), wait for the answer."""
    return (await converse(url, [question], start_at, timeout_s))[0]


async def converse(
    url: str,
    questions: list[np.ndarray],
    start_at: float,
    timeout_s: float,
    pause_s: float = 1.0,
) -> list[Turn]:
    """One session: connect now, ask the first question at ``start_at`` and each next one
    ``pause_s`` after the previous answer ended (a conversation of several turns)."""
    import websockets

    try:
        ws = await _connect(url)
    except websockets.InvalidStatus as exc:
        body = json.loads(exc.response.body or b"{}")
        refused = f"{exc.response.status_code} {body.get('error', {}).get('code', '')}"
        return [Turn(refused=refused) for _ in questions]
    turns: list[Turn] = []
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        for k, question in enumerate(questions):
            if k:
                await asyncio.sleep(pause_s)
            turns.append(await _ask(ws, question, timeout_s))
            if not turns[-1].answered:
                break  # the session is stuck: its later questions would only time out
    finally:
        await ws.close()
    return turns + [Turn(errors=["not asked"]) for _ in questions[len(turns) :]]


async def _ask(ws: Any, question: np.ndarray, timeout_s: float) -> Turn:
    """Speak ``question`` in real time on an open session and time its answer."""
    turn = Turn()
    stream = np.concatenate([np.zeros(RATE // 5, np.float32), question])
    t0 = time.monotonic()
    speech_end = t0 + (RATE // 5) / RATE + voiced_end(question, RATE)

    async def send() -> None:
        # a microphone: the question, then silence until the answer is over (the end of
        # the turn is decided on incoming audio)
        silence, i = np.zeros(CHUNK, np.float32), 0
        while True:
            chunk = stream[i : i + CHUNK] if i < len(stream) else silence
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _b64(chunk)}))
            i += CHUNK
            await asyncio.sleep(max(0.0, t0 + i / RATE - time.monotonic()))

    sender = asyncio.create_task(send())
    play_start: float | None = None
    try:
        async with asyncio.timeout(timeout_s):
            async for raw in ws:
                ev = json.loads(raw)
                kind = ev["type"]
                if kind == "response.output_audio.delta":
                    now = time.monotonic()
                    if play_start is None:
                        play_start = now + JITTER_S
                        turn.v2v_s = now - speech_end
                    due = play_start + turn.audio_s  # when this chunk must start playing
                    if now > due:  # the listener hears a gap; playout resumes after it
                        turn.late_s += now - due
                        play_start += now - due
                    turn.audio_s += len(base64.b64decode(ev["delta"])) / 2 / RATE
                elif kind == "response.output_audio_transcript.delta":
                    turn.answer += ev["delta"]
                elif kind == "x.antiphon.metrics":
                    turn.stages.update(ev.get("values", {}))
                elif kind == "error":
                    turn.errors.append(ev["error"].get("code", ""))
                elif kind == "response.done" and turn.audio_s > 0:
                    turn.answered = True
                    break
    except TimeoutError:
        pass
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    return turn


async def flood(url: str, messages: int = 30, seconds_each: float = 10.0) -> list[str]:
    """Append ``messages`` x ``seconds_each`` of noise as fast as the socket takes it;
    returns the error codes the server answered with."""
    rng = np.random.default_rng(0)
    noise = _b64((rng.standard_normal(int(RATE * seconds_each)) * 0.1).astype(np.float32))
    ws = await _connect(url)
    codes: list[str] = []
    try:
        for _ in range(messages):
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": noise}))
        try:
            async with asyncio.timeout(3.0):
                async for raw in ws:
                    ev = json.loads(raw)
                    if ev["type"] == "error":
                        codes.append(ev["error"].get("code", ""))
        except TimeoutError:
            pass
    finally:
        await ws.close()
    return codes


async def abort_mid_reply(url: str, text: str, timeout_s: float = 60.0) -> bool:
    """Ask by text, then drop the TCP connection once the answer's audio starts (no close
    handshake, like a phone that lost its network). True if the reply had started."""
    ws = await _connect(url)
    started = False
    try:
        await ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": text}],
                    },
                }
            )
        )
        await ws.send(json.dumps({"type": "response.create"}))
        async with asyncio.timeout(timeout_s):
            async for raw in ws:
                if json.loads(raw)["type"] == "response.output_audio.delta":
                    started = True
                    break
    except TimeoutError:
        pass
    finally:
        ws.transport.abort()
    return started
