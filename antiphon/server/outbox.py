"""A bounded per-connection send queue.

The session's event pump never waits on the network: it puts messages here and a writer
task sends them. A client that reads slowly loses audio frames first (counted), never
control events; one that stops reading altogether overflows the control backlog and is
disconnected, so it cannot hold memory or delay anybody else.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass


class OutboxOverflow(Exception):
    """The client stopped reading: its control backlog passed the limit."""


@dataclass
class Message:
    data: str | bytes
    droppable: bool = False  # audio: may be dropped when the client falls behind


class Outbox:
    def __init__(self, max_droppable: int, max_total: int) -> None:
        self.max_droppable = max_droppable
        self.max_total = max_total
        self._queue: deque[Message] = deque()
        self._droppable = 0
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0
        self.sent = 0

    def put(self, data: str | bytes, droppable: bool = False) -> None:
        if self._closed:
            return
        if droppable:
            if self._droppable >= self.max_droppable:
                self.dropped += 1
                return
            self._droppable += 1
        if len(self._queue) >= self.max_total:
            raise OutboxOverflow(f"client is not reading: {len(self._queue)} messages waiting")
        self._queue.append(Message(data, droppable))
        self._ready.set()

    def drop_audio(self) -> int:
        """Barge-in: audio not yet sent is never sent."""
        before = len(self._queue)
        self._queue = deque(m for m in self._queue if not m.droppable)
        self._droppable = 0
        return before - len(self._queue)

    async def get(self) -> Message | None:
        while not self._queue:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        msg = self._queue.popleft()
        if msg.droppable:
            self._droppable -= 1
        self.sent += 1
        return msg

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    def __len__(self) -> int:
        return len(self._queue)
