"""Play one spoken item into a fresh conversation in real time and record what came back.

The user's audio goes out in 20 ms frames at real-time pace (then silence), as a
microphone would send it. Voice-to-voice latency is read on that same clock: from the end
of the user's speech (the clip is trimmed, so its last frame) to the first audible agent
audio received. Tool calls are answered with a plausible result so the turn completes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from antiphon.bench.duplex.link import RATE, Ended, Heard, Note
from antiphon.bench.quality.links import AgentText, CallMade, QualityLink, Stages, UserText

FRAME = RATE // 50  # 20 ms
LEAD_IN_S = 0.3  # silence before the user speaks (the session settles)
WAIT_S = 12.0  # no reply this long after the end of speech (or a call's answer): give up
VOICE_RMS = 1e-3  # a received chunk this loud is the agent's voice


@dataclass
class Call:
    name: str
    arguments: str
    call_id: str


@dataclass
class Outcome:
    """What one item's conversation produced."""

    heard: str = ""  # the user transcript(s)
    said: str = ""  # the agent's words over every response
    calls: list[Call] = field(default_factory=list)
    voice_to_voice_ms: float | None = None
    responses: int = 0
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # the first response's, if sent


def tool_output(name: str, arguments: str) -> str:
    """A plausible result for a declared tool, so the agent can finish its answer."""
    try:
        args: dict[str, Any] = json.loads(arguments or "{}")
    except ValueError:
        args = {}
    results: dict[str, dict[str, Any]] = {
        "get_weather": {"city": args.get("city", ""), "condition": "sunny", "temperature_c": 21},
        "get_time": {"timezone": args.get("timezone", "local"), "time": "14:30"},
        "set_timer": {"ok": True, "timer": args},
        "control_lights": {"ok": True, **args},
        "play_music": {"ok": True, "now_playing": args.get("query", "")},
        "send_message": {"ok": True, "sent_to": args.get("recipient", "")},
        "set_thermostat": {"ok": True, "target": args.get("temperature")},
        "add_to_shopping_list": {"ok": True, "added": args.get("item", "")},
    }
    return json.dumps(results.get(name, {"ok": True}))


async def converse(
    link: QualityLink,
    audio: np.ndarray,
    tools: list[dict[str, Any]],
    answer: Callable[[str, str], str] = tool_output,
    wait_s: float = WAIT_S,
) -> Outcome:
    """One item: open, speak, wait for the reply (answering tool calls), close. No reply
    within ``wait_s`` of the end of speech (or of a call's answer) ends the item."""
    out = Outcome()
    loop = asyncio.get_running_loop()
    await link.open(tools)
    lead = int(LEAD_IN_S * RATE)
    speech = np.concatenate([np.zeros(lead, np.float32), audio.astype(np.float32)])
    speech_end_s = len(speech) / RATE
    pending: dict[str, list[Call]] = {}  # response id -> calls made in it
    texts: list[str] = []
    heard: list[str] = []
    deadline = speech_end_s + wait_s
    finished = False
    try:
        t0 = loop.time()
        k = 0
        while not finished:
            t = k * FRAME / RATE
            for item in link.poll():
                if isinstance(item, Heard):
                    loud = len(item.audio) and float(np.sqrt(np.mean(item.audio**2))) > VOICE_RMS
                    if loud and out.voice_to_voice_ms is None and t >= speech_end_s:
                        arrived = loop.time() - t0
                        out.voice_to_voice_ms = max(0.0, arrived - speech_end_s) * 1000
                elif isinstance(item, UserText):
                    heard.append(item.text)
                elif isinstance(item, AgentText):
                    if item.text.strip():
                        texts.append(item.text.strip())
                elif isinstance(item, CallMade):
                    call = Call(item.name, item.arguments, item.call_id)
                    out.calls.append(call)
                    pending.setdefault(item.response_id, []).append(call)
                elif isinstance(item, Ended):
                    out.responses += 1
                    calls = pending.pop(item.response_id, [])
                    for call in calls:
                        await link.answer(call.call_id, answer(call.name, call.arguments))
                    if calls:
                        deadline = t + wait_s
                    else:
                        finished = True
                elif isinstance(item, Stages):
                    out.stages = out.stages or item.values
                elif isinstance(item, Note):
                    out.notes.append(item.text)
            if finished:
                break
            if t >= deadline:
                out.timed_out = True
                break
            lo = k * FRAME
            frame = speech[lo : lo + FRAME]
            if len(frame) < FRAME:
                frame = np.concatenate([frame, np.zeros(FRAME - len(frame), np.float32)])
            await link.send(frame)
            k += 1
            lag = loop.time() - (t0 + k * FRAME / RATE)
            await asyncio.sleep(max(0.0, -lag))
    finally:
        await link.close()
    out.heard, out.said = " ".join(heard).strip(), " ".join(texts).strip()
    return out
