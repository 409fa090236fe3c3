"""A minimal Realtime client for protocol tests: sends JSON events, collects server events,
and checks every standard event against the `openai` SDK's own pydantic models."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import websockets
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from pydantic import TypeAdapter

_ADAPTER: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)


def validate(ev: dict[str, Any]) -> None:
    """Raise if a standard server event does not match the GA schema."""
    if not ev["type"].startswith("x."):
        _ADAPTER.validate_python(ev)


def pcm16_b64(audio: np.ndarray) -> str:
    return base64.b64encode((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()).decode()


def speechlike(seconds: float, rate: int = 24000, seed: int = 0) -> np.ndarray:
    """Loud noise: enough for the fake brain's energy VAD."""
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(seconds * rate))).astype(np.float32)


class Client:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._cursor = 0

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> Client:
        return cls(await websockets.connect(url, max_size=None, **kwargs))

    async def send(self, kind: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": kind, **fields}))

    async def send_audio(
        self, audio: np.ndarray, rate: int = 24000, chunk_ms: int = 100, pace: float = 0.0
    ) -> None:
        n = rate * chunk_ms // 1000
        for i in range(0, len(audio), n):
            await self.send("input_audio_buffer.append", audio=pcm16_b64(audio[i : i + n]))
            if pace:
                await asyncio.sleep(chunk_ms / 1000 * pace)

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        ev: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        validate(ev)
        self.events.append(ev)
        return ev

    async def wait_for(self, kind: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        """The next event of this type (and matching fields) after the last one waited for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i in range(self._cursor, len(self.events)):
                ev = self.events[i]
                if ev["type"] == kind and all(ev.get(k) == v for k, v in match.items()):
                    self._cursor = i + 1
                    return ev
            self._cursor = len(self.events)
            left = deadline - loop.time()
            if left <= 0:
                seen = [e["type"] for e in self.events[-15:]]
                raise AssertionError(f"no {kind} within {timeout} s; last events: {seen}")
            await self.recv(timeout=left)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def close(self) -> None:
        await self.ws.close()
