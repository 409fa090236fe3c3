"""Bounds on what one cascade session holds, each answered with a specific error event
while the session goes on: the manual-commit buffer, the conversation's item count (the
open turn's length and a stalled client are the TurnController's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from antiphon.cascade.conversation import Conversation
from antiphon.cascade.turn_controller import MAX_TURN
from antiphon.session.events import ErrorEvent, Event

# 16 kHz float32: 1 s = 64 kB
MAX_MANUAL = 120 * 16000  # uncommitted audio with turn detection off
MAX_ITEMS = 200  # conversation items; the oldest are dropped beyond it
__all__ = ["MAX_ITEMS", "MAX_MANUAL", "MAX_TURN", "ManualBuffer", "trim_conversation"]

Emit = Callable[[Event], Awaitable[None]]


class ManualBuffer:
    """Audio waiting for the client's commit when turn detection is off."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.clear()

    def clear(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._n = 0
        self._full = False  # overflowed (reported once) since the last commit

    async def push(self, chunk: np.ndarray) -> None:
        if self._n + len(chunk) > MAX_MANUAL:
            if not self._full:  # say it once per full buffer
                self._full = True
                await self._emit(
                    ErrorEvent(
                        "input_audio_buffer_full",
                        f"the input audio buffer holds its maximum of {MAX_MANUAL // 16000} s; "
                        "audio after it is dropped until you commit or clear the buffer",
                    )
                )
            return
        self._chunks.append(chunk)
        self._n += len(chunk)

    @property
    def samples(self) -> int:
        return self._n

    def take(self) -> np.ndarray:
        """Everything buffered, and the buffer emptied."""
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        self.clear()
        return audio


async def trim_conversation(conv: Conversation, emit: Emit) -> None:
    for item_id in conv.drop_oldest(MAX_ITEMS):
        await emit(
            ErrorEvent(
                "conversation_item_dropped",
                f"conversation item {item_id} was dropped: a session keeps at most "
                f"{MAX_ITEMS} items",
            )
        )
