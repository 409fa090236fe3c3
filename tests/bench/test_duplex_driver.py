"""The paced driver on a scripted backend whose replies are known: agent audio is heard
when it is played (not when it arrives), a client flush silences it, "agent" parts start
after the agent's voice begins, the echo path feeds the played voice back with its delay,
and each response's status is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from antiphon.audio.io import write_wav
from antiphon.bench.duplex.driver import record
from antiphon.bench.duplex.link import Ended, Flush, Heard, Incoming
from antiphon.bench.duplex.scenarios import EchoPath, Part, Scenario

RATE = 16000


class ScriptedBackend:
    """Sends a 2 s reply (all at once, ahead of playback) 0.4 s after the user's first
    word; cuts it (flush + cancelled) when the user speaks again while it plays."""

    name = "scripted"

    def __init__(self) -> None:
        self.heard_user: list[np.ndarray] = []
        self.out: list[Incoming] = []
        self.t = 0.0
        self.speech_at: float | None = None
        self.replied = False
        self.cut = False

    async def open(self) -> None:
        pass

    async def send(self, frame: np.ndarray) -> None:
        self.heard_user.append(frame)
        loud = float(np.sqrt(np.mean(frame**2))) > 0.01
        if loud and self.speech_at is None:
            self.speech_at = self.t
        if self.speech_at is not None and not self.replied and self.t >= self.speech_at + 0.4:
            tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)
            self.out.append(Heard("r1", tone.astype(np.float32)))
            self.replied, self.reply_at = True, self.t
        if loud and self.replied and not self.cut and self.t > self.reply_at + 0.5:
            self.out += [Flush(), Ended("r1", "cancelled")]
            self.cut, self.cut_at = True, self.t
        self.t += len(frame) / RATE

    def poll(self) -> list[Incoming]:
        out, self.out = self.out, []
        return out

    async def close(self) -> None:
        pass


def scenario(tmp: Path, echo: bool) -> Scenario:
    word = (0.3 * np.sin(2 * np.pi * 150 * np.arange(int(0.3 * RATE)) / RATE)).astype(np.float32)
    write_wav(tmp / "question.wav", word, RATE)
    write_wav(tmp / "interrupt.wav", word, RATE)
    parts = (
        Part("question", "q", "test", "question.wav", "start", 0.2, 0.3, ((0.0, 0.3),)),
        Part("interrupt", "i", "test", "interrupt.wav", "agent", 0.8, 0.3, ((0.0, 0.3),)),
    )
    path = None
    if echo:
        ir = np.zeros(int(0.1 * RATE) + 1, np.float32)
        ir[-1] = 0.5  # 100 ms, -6 dB
        write_wav(tmp / "ir.wav", ir, RATE)
        path = EchoPath(100.0, -6.0, "ir.wav")
    return Scenario("x-000", "interruption", "test", parts, 0.5, path, folder=str(tmp))


def test_playout_flush_and_triggers(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    take = asyncio.run(record(backend, scenario(tmp_path, echo=False)))
    q, ip = take.parts
    assert q.start_s == 0.2 and q.on_time and ip.on_time
    voice = np.nonzero(np.abs(take.agent) > 0.01)[0] / RATE
    assert abs(voice[0] - backend.reply_at) <= 0.04  # played as soon as it arrived
    assert abs(ip.start_s - (voice[0] + 0.8)) <= 0.04  # 0.8 s after the voice began
    assert abs(voice[-1] - backend.cut_at) <= 0.06  # the flush silenced it at once
    (r,) = take.responses
    assert r.status == "cancelled" and abs(r.last_s - voice[-1]) <= 0.03
    assert len(take.user) == len(take.agent)
    assert take.duration_s >= ip.end_s + 0.5


def test_echo_path_feeds_the_played_voice_back(tmp_path: Path) -> None:
    take = asyncio.run(record(ScriptedBackend(), scenario(tmp_path, echo=True)))
    a0 = int(np.argmax(np.abs(take.agent) > 0.01))
    seg = slice(a0 + 1600, a0 + 1600 + 4000)  # the reply alone (before the interruption)
    expected = 0.5 * take.agent[a0 : a0 + 4000]
    assert np.allclose(take.user[seg], expected, atol=2e-3)
