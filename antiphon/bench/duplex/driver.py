"""Play one scenario into a backend in real time and record both channels.

Every 20 ms the driver takes what arrived from the backend into a playout queue (a client
drops that queue when the server says the user took the floor), plays the next 20 ms of it
(that is the agent channel: what the user hears, when they hear it), mixes the microphone
frame (the scenario's parts, plus the played agent voice through the echo path when the
scenario has one) and sends it. Parts that wait for the agent start a set time after its
voice begins, or after a timeout if it never does."""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np

from antiphon.bench.duplex.link import Ended, Flush, Heard, Link, Note
from antiphon.bench.duplex.scenarios import Scenario
from antiphon.bench.duplex.take import RATE, Played, Response, Take

FRAME = RATE // 50  # 20 ms
AGENT_WAIT_S = 8.0  # an "agent" part starts anyway when the agent stays silent this long
MAX_TAKE_S = 60.0
VOICE_RMS = 1e-3  # a played frame this loud means the agent's voice has begun


class _Playout:
    """The client's playout queue, with which response each played sample belongs to."""

    def __init__(self) -> None:
        self.queue: deque[list] = deque()  # [response_id, samples]

    def push(self, rid: str, audio: np.ndarray) -> None:
        if len(audio):
            self.queue.append([rid, audio])

    def pop(self, n: int) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
        """n samples (zeros where the queue runs dry) and (response, from, to) spans."""
        out = np.zeros(n, np.float32)
        spans: list[tuple[str, int, int]] = []
        pos = 0
        while pos < n and self.queue:
            rid, audio = self.queue[0]
            take = min(n - pos, len(audio))
            out[pos : pos + take] = audio[:take]
            spans.append((rid, pos, pos + take))
            pos += take
            if take == len(audio):
                self.queue.popleft()
            else:
                self.queue[0][1] = audio[take:]
        return out, spans


async def record(link: Link, scenario: Scenario) -> Take:
    take = Take(
        scenario.id, scenario.category, scenario.variant, link.name, np.zeros(0), np.zeros(0)
    )
    parts = list(scenario.parts)
    audios = [scenario.audio(p) for p in parts]
    ir = scenario.echo_ir()
    n_max = int(MAX_TAKE_S * RATE)
    mic_track = np.zeros(n_max, np.float32)
    agent_track = np.zeros(n_max, np.float32)
    playout = _Playout()
    responses: dict[str, Response] = {}
    statuses: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    await link.open()
    try:
        t0 = loop.time()
        k = 0
        nxt = 0  # index of the next part to start
        current: tuple[np.ndarray, int] | None = None  # (audio, first sample on the timeline)
        prev_end = 0.0  # when the previous part finished playing
        voice_at: float | None = None  # when the agent's voice began after prev_end
        while True:
            t = k * FRAME / RATE
            for item in link.poll():
                if isinstance(item, Heard):
                    playout.push(item.response_id, item.audio)
                elif isinstance(item, Flush):
                    playout.queue.clear()
                    take.events.append((t, "client stops playback"))
                elif isinstance(item, Ended):
                    statuses[item.response_id] = item.status  # may come before its audio plays
                elif isinstance(item, Note):
                    take.events.append((t, item.text))
            heard, spans = playout.pop(FRAME)
            lo = k * FRAME
            agent_track[lo : lo + FRAME] = heard
            for rid, a, b in spans:
                r = responses.setdefault(rid, Response(rid, (lo + a) / RATE, (lo + b) / RATE))
                r.last_s = (lo + b) / RATE
            if voice_at is None and t >= prev_end and float(np.sqrt(np.mean(heard**2))) > VOICE_RMS:
                voice_at = t
            # -- the next part starts when its moment has come
            if current is None and nxt < len(parts):
                p = parts[nxt]
                due = (p.when == "start" and t >= p.start_s) or (
                    p.when == "agent" and voice_at is not None and t >= voice_at + p.start_s
                )
                late = p.when == "agent" and voice_at is None and t >= prev_end + AGENT_WAIT_S
                if due or late:
                    current = (audios[nxt], lo)
                    take.parts.append(
                        Played(
                            p.role,
                            p.text,
                            t,
                            [(t + a, t + b) for a, b in p.speech],
                            not late,
                            p.duration_s,
                        )
                    )
                    nxt += 1
            # -- the microphone: the user's part, plus the agent's voice through the room
            mic = np.zeros(FRAME, np.float32)
            if current is not None:
                audio, first = current
                seg = audio[lo - first : lo - first + FRAME]
                mic[: len(seg)] = seg
                if lo - first + FRAME >= len(audio):
                    current, prev_end, voice_at = None, t + FRAME / RATE, None
            if ir is not None:
                a0 = lo - len(ir) + 1
                hist = agent_track[max(0, a0) : lo + FRAME]
                if a0 < 0:
                    hist = np.concatenate([np.zeros(-a0, np.float32), hist])
                mic += np.convolve(hist, ir, mode="valid").astype(np.float32)
            mic_track[lo : lo + FRAME] = mic
            await link.send(mic)
            k += 1
            end_of_script = current is None and nxt >= len(parts)
            if (end_of_script and t >= prev_end + scenario.tail_s) or (k + 1) * FRAME > n_max:
                break
            lag = loop.time() - (t0 + k * FRAME / RATE)
            take.max_lag_s = max(take.max_lag_s, lag)
            await asyncio.sleep(max(0.0, -lag))
    finally:
        await link.close()
    n = k * FRAME
    take.user, take.agent = mic_track[:n].copy(), agent_track[:n].copy()
    for r in responses.values():
        r.status = statuses.get(r.id, "")
    take.responses = sorted(responses.values(), key=lambda r: r.first_s)
    return take
