"""Helpers for conversation tests: run a scripted user against a real cascade session on
a virtual clock, and pick events out of the recording."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from antiphon.apps.factory import new_session
from antiphon.cascade.stack import CascadeStack
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import Command, Configure
from antiphon.session.events import AudioChunk
from antiphon.session.scripted import Echo, Recording, Utterance, run_script
from antiphon.session.session import Session

E = TypeVar("E")


async def converse(
    stack: Any,
    script: list[Utterance],
    echo: Echo | None = None,
    echo_cancel: bool = True,
    before: Sequence[Command] = (),
    demo_tools: bool = True,
) -> tuple[Recording, Session]:
    """``demo_tools``: the session asks for the built-in tools, as the demo and the page do."""
    session = new_session(stack, clock=VirtualClock(), echo_cancel=echo_cancel)
    async with session:
        for cmd in [Configure(demo_tools=demo_tools), *before]:
            await session.send(cmd)
        rec = await run_script(session, script, echo=echo)
    return rec, session


def of_type(rec: Recording, kind: type[E]) -> list[E]:
    return [ev for _, ev in rec.events if isinstance(ev, kind)]


def timed(rec: Recording, kind: type[E]) -> list[tuple[float, E]]:
    return [(t, ev) for t, ev in rec.events if isinstance(ev, kind)]


def audio_of(rec: Recording, response_id: str) -> np.ndarray:
    chunks = [ev.audio for ev in of_type(rec, AudioChunk) if ev.response_id == response_id]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def event_names(rec: Recording) -> Iterator[str]:
    return (type(ev).__name__ for _, ev in rec.events if not isinstance(ev, AudioChunk))


class ScriptedLLM:
    """The real stack with the LLM's output replaced by fixed text per pass — only for
    tests about what the brain does with bad model output, which a real model will not
    produce on demand."""

    def __init__(self, stack: CascadeStack, outputs: list[str]) -> None:
        self._stack = stack
        self.outputs = list(outputs)

    def llm_stream(
        self, messages: Any, tools: Any, cancel: Any, tool_choice: str = "auto"
    ) -> Iterator[str]:
        text = self.outputs.pop(0) if self.outputs else "All done."
        for i in range(0, len(text), 7):  # arrive in pieces, like tokens
            yield text[i : i + 7]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stack, name)


def voiced(audio: np.ndarray) -> bool:
    return bool(len(audio)) and float(np.sqrt(np.mean(audio**2))) > 1e-3
