"""Who is speaking, read off the streams of a full-duplex model (no VAD in the loop).

* Agent: the inner monologue is word-aligned text; a word token means the agent speaks,
  and ``hangover`` frames of padding only end its turn.
* User: the level of the (echo-cancelled) input frames, with hysteresis, so the session can
  report speech started/stopped events to clients that show them; it does not gate the
  model, which hears every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AgentTurns:
    hangover: int = 8  # frames of padding (640 ms at 12.5 Hz) that end a turn
    speaking: bool = False
    _quiet: int = 0

    def update(self, word: bool) -> str | None:
        """Feed one frame; return "start", "end" or None."""
        if word:
            self._quiet = 0
            if not self.speaking:
                self.speaking = True
                return "start"
            return None
        if self.speaking:
            self._quiet += 1
            if self._quiet >= self.hangover:
                self.speaking = False
                self._quiet = 0
                return "end"
        return None


@dataclass
class UserActivity:
    threshold_db: float = -42.0
    start_frames: int = 2
    stop_frames: int = 6
    speaking: bool = False
    _run: int = 0

    def update(self, pcm: np.ndarray) -> str | None:
        rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64)))) if len(pcm) else 0.0
        loud = 20 * np.log10(max(rms, 1e-9)) > self.threshold_db
        if loud != self.speaking:
            self._run += 1
            if self._run >= (self.start_frames if loud else self.stop_frames):
                self.speaking = loud
                self._run = 0
                return "start" if loud else "end"
        else:
            self._run = 0
        return None
