"""The first questions after `antiphon serve` starts, through headless Chromium (the page with
its default demo tools): the page's event latency per call, in the order given.
Run: .venv/bin/python tests/server/bench_first_turn.py websocket,webrtc,webrtc,websocket"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "tests/server")
from bench_browser_latency import browser_turn, question_wav
from serve_process import ServeProcess

order = sys.argv[1].split(",")
with ServeProcess() as srv, tempfile.TemporaryDirectory() as tmp:
    wav = Path(tmp) / "q.wav"
    question_wav(wav, "What is the capital of France?", "flite:slt", tail_s=6.0)
    for transport in order:
        t0 = time.time()
        st = browser_turn(f"{srv.url}/?transport={transport}", wav)
        ev = {}
        for e in st["events"]:
            ev.setdefault(e["type"], e["t"])
        print(
            transport,
            "event latency",
            st["latencies"],
            "wall",
            round(time.time() - t0, 1),
            "micAt",
            st["micAt"],
            "audible",
            st["audibleAt"][:1],
            "speech_stopped",
            ev.get("input_audio_buffer.speech_stopped"),
            "first audio ev",
            ev.get("output_audio_buffer.started", ev.get("response.output_audio.delta")),
            "said",
            st["agent"],
            flush=True,
        )
