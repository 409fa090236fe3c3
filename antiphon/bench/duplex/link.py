"""How the benchmark talks to a backend: a `Link` sends microphone frames and hands back
what arrived (agent audio, "the user took the floor", "response ended"). One paced driver
(driver.py) runs every backend through the same loop, so their figures compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from antiphon.audio.io import resample
from antiphon.session.commands import AppendAudio
from antiphon.session.events import (
    AudioChunk,
    ErrorEvent,
    Metrics,
    ResponseDone,
    ResponseStarted,
    UserSpeechStarted,
)
from antiphon.session.session import Session

RATE = 16000


class LinkError(RuntimeError):
    """The backend cannot be reached or does not speak the expected protocol."""


@dataclass
class Heard:
    response_id: str
    audio: np.ndarray  # float32 at 16 kHz


@dataclass
class Flush:
    """The server says the user has the floor: a client drops the audio it has queued."""


@dataclass
class Ended:
    response_id: str
    status: str


@dataclass
class Note:
    text: str  # a protocol event worth marking on the timeline


Incoming = Heard | Flush | Ended | Note


class Link(Protocol):
    name: str

    async def open(self) -> None: ...

    async def send(self, frame: np.ndarray) -> None: ...

    def poll(self) -> list[Incoming]: ...

    async def close(self) -> None: ...


class SessionLink:
    """An antiphon brain in this process, through the Session interface. The session's own
    pacer releases the agent's audio in real time, so what arrives is what is heard."""

    name = "in-process"

    def __init__(self, make_session: Callable[[], Session]) -> None:
        self._make = make_session
        self._session: Session | None = None

    async def open(self) -> None:
        self._session = self._make()
        await self._session.start()

    async def send(self, frame: np.ndarray) -> None:
        assert self._session is not None
        await self._session.send(AppendAudio(frame, RATE))

    def poll(self) -> list[Incoming]:
        assert self._session is not None
        out: list[Incoming] = []
        while (ev := self._session.next_event_nowait()) is not None:
            if isinstance(ev, AudioChunk):
                out.append(Heard(ev.response_id, resample(ev.audio, ev.sample_rate, RATE)))
            elif isinstance(ev, ResponseDone):
                out.append(Ended(ev.response_id, ev.status))
                out.append(Note(f"response {ev.status}" + (f" ({ev.reason})" if ev.reason else "")))
            elif isinstance(ev, UserSpeechStarted):
                out.append(Note("user speech started"))
            elif isinstance(ev, ResponseStarted):
                out.append(Note("response started"))
            elif isinstance(ev, ErrorEvent):
                out.append(Note(f"error {ev.code}"))
            elif isinstance(ev, Metrics):  # the brain's own stage times, for diagnosis
                stages = " ".join(f"{k.removesuffix('_ms')}={v:.0f}" for k, v in ev.values.items())
                out.append(Note(f"metrics {stages}"))
        return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


LEAD_MS = 20


def cascade_link(stack: object, instructions: str | None = None) -> SessionLink:
    """A fresh cascade session per take, in real time. Audio is released one 20 ms frame
    ahead of playback, as a client with a one-frame jitter buffer would get it: the
    driver's playout queue plays it on time, and the echo canceller's reference (what was
    released) stays ahead of the microphone; released at the very moment the microphone
    frame arrives, the reference would race it and be dropped as late."""
    from antiphon.apps.factory import new_session
    from antiphon.session.clock import RealClock

    return SessionLink(
        lambda: new_session(
            stack,  # type: ignore[arg-type]
            clock=RealClock(),
            instructions=instructions,
            output_rate=RATE,
            lead_ms=LEAD_MS,
        )
    )


def e2e_link(stack: object) -> SessionLink:
    """A fresh end-to-end (Moshi-family) session per take, in real time, like cascade_link."""
    from antiphon.e2e.brain import E2EBrain
    from antiphon.e2e.stack import E2EStack
    from antiphon.session.clock import RealClock
    from antiphon.session.session import Session

    assert isinstance(stack, E2EStack)
    return SessionLink(
        lambda: Session(E2EBrain(stack), clock=RealClock(), output_rate=RATE, lead_ms=LEAD_MS)
    )
