"""A recorded run of one scenario ("take"): both channels on one 16 kHz timeline, where
each user part really started, and the agent's responses as the client saw them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from antiphon.audio.io import read_wav, write_wav

RATE = 16000


@dataclass
class Played:
    """A scenario part as it was played: absolute times on the take's timeline."""

    role: str
    text: str
    start_s: float
    speech: list[tuple[float, float]]  # voiced intervals (absolute)
    on_time: bool = True  # False: an "agent" part started by timeout (the agent was silent)
    length_s: float = 0.0  # how long the part played

    @property
    def end_s(self) -> float:
        return self.speech[-1][1] if self.speech else self.start_s


@dataclass
class Response:
    """One agent response as heard by the user: first and last sample played, and how the
    server said it ended ("completed", "cancelled", … or "" when the protocol cannot say)."""

    id: str
    first_s: float
    last_s: float
    status: str = ""


@dataclass
class Take:
    scenario: str
    category: str
    variant: str
    backend: str
    user: np.ndarray = field(repr=False)  # what the microphone sent (all sources mixed)
    agent: np.ndarray = field(repr=False)  # what the user heard, where they heard it
    parts: list[Played] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)  # protocol events, for plots
    error: str = ""
    max_lag_s: float = 0.0  # how far the real-time pacing fell behind at worst

    @property
    def duration_s(self) -> float:
        return len(self.user) / RATE

    def part(self, role: str) -> Played | None:
        return next((p for p in self.parts if p.role == role), None)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_wav(folder / "user.wav", self.user, RATE)
        write_wav(folder / "agent.wav", self.agent, RATE)
        meta = {k: v for k, v in asdict(self).items() if k not in ("user", "agent")}
        (folder / "take.json").write_text(json.dumps(meta, indent=1))

    @staticmethod
    def load(folder: Path) -> Take:
        meta = json.loads((folder / "take.json").read_text())
        parts = [
            Played(**{**p, "speech": [tuple(s) for s in p["speech"]]}) for p in meta.pop("parts")
        ]
        responses = [Response(**r) for r in meta.pop("responses")]
        events = [tuple(e) for e in meta.pop("events")]
        return Take(
            **meta,
            user=read_wav(folder / "user.wav", RATE)[0],
            agent=read_wav(folder / "agent.wav", RATE)[0],
            parts=parts,
            responses=responses,
            events=events,
        )
