"""The interface every brain (cascade, end-to-end) implements, and what the Session gives it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from antiphon.session.clock import Clock
from antiphon.session.commands import Command
from antiphon.session.events import Event


@dataclass
class BrainContext:
    """Services the Session offers a brain. The brain emits events through `emit`; audio
    chunks it emits are paced by the Session and reach the client in real time."""

    clock: Clock
    emit: Callable[[Event], Awaitable[None]]
    heard_ms: Callable[[str], int]  # playback position of a response
    flush_output: Callable[[str | None], None]  # stop a response's audio now
    is_playing: Callable[[], bool]  # agent audio is audible right now
    input_ms: Callable[[], int]  # position on the input audio timeline
    output_rate: int
    hold_output: Callable[[bool], None] = lambda _on: None  # pause/resume playback
    # the last n samples of what was played, aligned with the input pushed so far
    far_end: Callable[[int], np.ndarray] = lambda n: np.zeros(n, np.float32)
    # the last n input samples with the echo filtered out but not yet suppressed (the
    # suppressor also pulls the user's voice down while the agent talks); None: as pushed
    unsuppressed_input: Callable[[int], np.ndarray] | None = None


class Brain(Protocol):
    input_rate: int  # the sample rate push_audio receives

    async def start(self, ctx: BrainContext) -> None: ...

    async def push_audio(self, frame: np.ndarray) -> None:
        """User audio (echo-cancelled, mono float32 at input_rate), in arrival order."""
        ...

    async def handle(self, command: Command) -> None:
        """Every command except AppendAudio (which arrives through push_audio)."""
        ...

    async def settle(self) -> None:
        """Wait until all work triggered by input so far is finished (virtual-time tests)."""
        ...

    async def close(self) -> None: ...
