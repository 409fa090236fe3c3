"""The pacing of the human recordings sent to a Realtime server (bench/quality/remote_asr.py):
the connection's audio timeline never runs more than the lead ahead of real time, however
many recordings go one after another with a wait for each transcript in between."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from antiphon.bench.duplex.link import LinkError
from antiphon.bench.quality.human import Recording
from antiphon.bench.quality.remote_asr import Pacer, transcripts


def test_the_lead_does_not_grow_from_recording_to_recording() -> None:
    pacer, now, worst = Pacer(lead_s=0.5), 100.0, 0.0
    for _recording in range(40):
        for _chunk in range(25):  # 2.5 s of audio in 100 ms appends
            now += pacer.wait_s(0.1, now) + 0.001  # sleep as told, then send
            assert pacer.end is not None
            worst = max(worst, pacer.end - now)
        now += 0.3  # the transcript comes back
    assert worst <= 0.5 + 1e-9  # a server refusing at 2 s ahead never sees more than 0.5 s


def test_after_a_pause_the_timeline_restarts_at_now() -> None:
    pacer = Pacer(lead_s=0.5)
    assert pacer.wait_s(0.4, now=10.0) == 0.0
    assert pacer.wait_s(0.4, now=60.0) == 0.0  # long after: no debt from the past
    assert pacer.end == 60.4


async def _serve(answer: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> Any:
    """A loopback websocket that answers each client event with ``answer(event)``."""
    import websockets

    async def handler(ws: Any) -> None:
        async for raw in ws:
            for ev in answer(json.loads(raw)):
                await ws.send(json.dumps(ev))

    return await websockets.serve(handler, "127.0.0.1", 0)


def _recording(text: str) -> Recording:
    return Recording("r1", "test", Path("/nonexistent.wav"), text, "test")


async def test_transcripts_come_from_the_servers_events(monkeypatch: Any) -> None:
    monkeypatch.setattr(Recording, "audio", lambda self: np.zeros(3200, np.float32))
    commits = 0

    def answer(ev: dict[str, Any]) -> list[dict[str, Any]]:
        nonlocal commits
        if ev["type"] != "input_audio_buffer.commit":
            return []
        commits += 1
        item = f"item_{commits}"
        return [
            {"type": "input_audio_buffer.committed", "item_id": item},
            {"type": "conversation.item.input_audio_transcription.completed",
             "item_id": item, "transcript": f"words {commits}"},
        ]  # fmt: skip

    server = await _serve(answer)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
    got = await transcripts(url, None, [_recording("a"), _recording("b")])
    server.close()
    assert got == ["words 1", "words 2"]


async def test_a_refused_recording_says_why(monkeypatch: Any) -> None:
    monkeypatch.setattr(Recording, "audio", lambda self: np.zeros(3200, np.float32))

    def answer(ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev["type"] != "input_audio_buffer.commit":
            return []
        return [{"type": "error", "error": {"code": "input_audio_ahead_of_real_time",
                                            "message": "send audio at real-time pace"}}]  # fmt: skip

    server = await _serve(answer)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
    with pytest.raises(LinkError, match="input_audio_ahead_of_real_time: send audio"):
        await transcripts(url, None, [_recording("a")])
    server.close()
