"""Voice-to-voice latency in a real browser, WebRTC vs WebSocket: Debian's headless Chromium
runs antiphon's page against one `antiphon serve` (default models), its microphone fed from
a WAV file, the same questions over both transports, turns alternating (ABBA by question).

Run: .venv/bin/python tests/server/bench_browser_latency.py [QUESTIONS]

The questions are the first test-half general-knowledge items of `antiphon bench quality`,
spoken by its user voices (never the agent's). Each WAV is 1 s of silence, the question and
12 s of silence. The page records when its microphone stream opened (`micAt`) and when the
answer first became audible in the page (`audibleAt`: the output level after >= 300 ms of
quiet; WebRTC: the remote track after the browser's jitter buffer, WebSocket: the page's
player worklet). Voice-to-voice = audible - micAt - (1 s + the question's length): the
fake capture device starts its file when the stream opens, up to a frame or two later
than micAt, the same for both transports, so the two columns compare and each may read a
few ms long. The page's own event figure (speech_stopped arrival -> first audio event) is
printed beside it. Each turn is scored as bench quality scores answers: a latency travels
with whether the transcript and the answer were right.

Chromium (its Opus, SRTP and WebAudio) runs on the same cores as the server's models.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

RATE = 48000
LEAD_S = 1.0
TRANSPORTS = ("webrtc", "websocket")


def browser_turn(url: str, wav: Path) -> dict[str, Any]:
    env = {**os.environ, "BROWSER_TIMEOUT_MS": "60000"}
    proc = subprocess.run(
        ["node", str(HERE / "browser_check.mjs"), url, "talk", str(wav)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
        env=env,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"no state from the page (exit {proc.returncode}): {proc.stderr[-800:]}")
    state: dict[str, Any] = json.loads(lines[-1])
    state["exit"] = proc.returncode
    return state


def question_wav(path: Path, text: str, voice: str, tail_s: float) -> float:
    """The page's fake microphone: LEAD_S of silence, ``text`` spoken by ``voice`` (bench
    quality's user voices), ``tail_s`` of silence. Returns the end of speech, ms."""
    from antiphon.audio.io import resample, write_wav
    from antiphon.bench.quality import voices

    speech = resample(voices.spoken(text, voice), 16000, RATE).astype(np.float32)
    lead, tail = np.zeros(int(LEAD_S * RATE), np.float32), np.zeros(int(tail_s * RATE), np.float32)
    write_wav(path, np.concatenate([lead, speech, tail]), RATE)
    return 1000 * (LEAD_S + len(speech) / RATE)


def receive_delays(
    stats: list[dict[str, Any]],
) -> tuple[float | None, float | None, float | None]:
    """Over the call: mean ms a received sample spent in Chromium's jitter buffer (NetEq),
    mean playout delay (media-playout: from the decoded sample to the audio device), and
    the packets' interarrival jitter (RFC 3550, ms) that NetEq sizes its buffer by."""
    jb = po = jit = None
    for r in stats:
        if r.get("type") == "inbound-rtp" and r.get("jitterBufferEmittedCount"):
            jb = 1000 * r["jitterBufferDelay"] / r["jitterBufferEmittedCount"]
            jit = 1000 * r["jitter"] if "jitter" in r else None
        if r.get("type") == "media-playout" and r.get("totalSamplesCount"):
            po = 1000 * r["totalPlayoutDelay"] / r["totalSamplesCount"]
    return jb, po, jit


def _p(vals: list[float], q: int) -> float:
    if len(vals) < 2:
        return vals[0] if vals else float("nan")
    return statistics.quantiles(vals, n=10, method="inclusive")[q - 1]


def main(n: int) -> None:
    from serve_process import ServeProcess

    from antiphon.bench.quality import data, voices
    from antiphon.bench.quality.score import answer_found, word_errors

    items = data.select(["general"], "test", n)
    assigned = voices.assign(len(items), voices.EN_VOICES)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TRANSPORTS}
    with ServeProcess() as server, tempfile.TemporaryDirectory() as tmp:
        warm = True  # the first call of each transport (page, codecs, a server's first turn)
        for k, (item, voice) in enumerate(zip(items, assigned, strict=True)):
            wav = Path(tmp) / f"{item.id}.wav"
            speech_end_ms = question_wav(wav, item.text, voice, tail_s=12.0)
            order = TRANSPORTS if k % 2 == 0 else TRANSPORTS[::-1]
            if warm:
                for transport in TRANSPORTS:
                    st = browser_turn(f"{server.url}/?transport={transport}", wav)
                    print(f"warm-up {transport}: {st['latencies']} (not counted)", flush=True)
                warm = False
            for transport in order:
                st = browser_turn(f"{server.url}/?transport={transport}", wav)
                heard, said = " ".join(st["user"]), " ".join(st["agent"])
                audible = (
                    st["audibleAt"][0] if st["audibleAt"] and st["micAt"] is not None else None
                )
                v2v = None if audible is None else audible - st["micAt"] - speech_end_ms
                # where the time went: the speech_stopped event's arrival after the end of the
                # question in the microphone's stream (end-of-turn wait + the way up + the
                # event's way down), and the first audio event's arrival to audible
                t_of: dict[str, float] = {}
                for e in st["events"]:
                    t_of.setdefault(e["type"], e["t"])
                audio_ev = t_of.get(
                    "output_audio_buffer.started", t_of.get("response.output_audio.delta")
                )
                stopped = t_of.get("input_audio_buffer.speech_stopped")
                up = (
                    None
                    if stopped is None or st["micAt"] is None
                    else stopped - st["micAt"] - speech_end_ms
                )
                down = None if audible is None or audio_ev is None else audible - audio_ev
                jitter_ms, playout_ms, arrival_ms = receive_delays(st.get("rtcStats") or [])
                row = {
                    "id": item.id,
                    "to_speech_stopped_ms": up,
                    "audio_event_to_audible_ms": down,
                    "jitter_buffer_ms": jitter_ms,
                    "playout_ms": playout_ms,
                    "arrival_jitter_ms": arrival_ms,
                    "voice": voice,
                    "transport": st["transport"],
                    "v2v_ms": v2v,
                    "event_ms": st["latencies"][0] if st["latencies"] else None,
                    "heard": heard,
                    "exact": word_errors(item.text, heard)[0] == 0,
                    "right": answer_found(said, item.accept),
                    "said": said,
                    "exit": st["exit"],
                }
                rows[transport].append(row)
                v = "-" if v2v is None else f"{v2v:.0f} ms"
                print(f"{transport:9} {item.id} {voice:18} v2v {v:>8}  event "
                      f"{row['event_ms'] or float('nan'):.0f} ms  speech_stopped {up or float('nan'):.0f} ms"
                      f"  audio event->audible {down or float('nan'):.0f} ms"
                      f"{'' if jitter_ms is None else f'  jitter buffer {jitter_ms:.0f} ms'}"
                      f"{'' if playout_ms is None else f'  playout {playout_ms:.0f} ms'}"
                      f"{'' if arrival_ms is None else f'  arrival jitter {arrival_ms:.1f} ms'}"
                      f"  heard {heard!r} said {said[:60]!r}"
                      f"{'' if row['right'] else '  WRONG'}", flush=True)  # fmt: skip
    print()
    print("| transport | turns | v2v p50 | v2v p90 | speech_stopped p50 | event p50 | "
          "audio event -> audible p50 | transcripts exact | answers right |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in TRANSPORTS:
        rs = rows[t]
        v2v = [r["v2v_ms"] for r in rs if r["v2v_ms"] is not None]
        ev = [r["event_ms"] for r in rs if r["event_ms"] is not None]
        up = [r["to_speech_stopped_ms"] for r in rs if r["to_speech_stopped_ms"] is not None]
        down = [
            r["audio_event_to_audible_ms"] for r in rs if r["audio_event_to_audible_ms"] is not None
        ]
        print(f"| {t} | {len(rs)} | {_p(v2v, 5):.0f} | {_p(v2v, 9):.0f} | {_p(up, 5):.0f} | "
              f"{_p(ev, 5):.0f} | {_p(down, 5):.0f} | "
              f"{sum(r['exact'] for r in rs)}/{len(rs)} | {sum(r['right'] for r in rs)}/{len(rs)} |")  # fmt: skip
    pairs = [
        (a["v2v_ms"], b["v2v_ms"])
        for a, b in zip(rows["webrtc"], rows["websocket"], strict=True)
        if a["v2v_ms"] is not None and b["v2v_ms"] is not None
    ]
    if pairs:
        diffs = [a - b for a, b in pairs]
        print(f"\nwebrtc - websocket, paired by question: median {statistics.median(diffs):.0f} ms "
              f"(min {min(diffs):.0f}, max {max(diffs):.0f}, {len(diffs)} pairs)")  # fmt: skip
    jb = [r["jitter_buffer_ms"] for r in rows["webrtc"] if r["jitter_buffer_ms"] is not None]
    po = [r["playout_ms"] for r in rows["webrtc"] if r["playout_ms"] is not None]
    ja = [r["arrival_jitter_ms"] for r in rows["webrtc"] if r["arrival_jitter_ms"] is not None]
    if jb or po:
        print(f"webrtc receive side, mean over each call, p50 of calls: jitter buffer "
              f"{_p(jb, 5):.0f} ms, playout {_p(po, 5):.0f} ms, "
              f"arrival jitter {_p(ja, 5):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
