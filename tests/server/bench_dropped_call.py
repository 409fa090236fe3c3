"""How long a call stays open on the server after the browser that made it closes: one
question through headless Chromium per transport, then /metrics' open sessions every second.
Run: .venv/bin/python tests/server/bench_dropped_call.py"""

import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, "tests/server")
from bench_browser_latency import RATE, browser_turn
from serve_process import ServeProcess

from antiphon.audio.io import resample, write_wav
from antiphon.bench.quality import voices


def sessions(url):
    txt = urllib.request.urlopen(url + "/metrics").read().decode()
    return [ln for ln in txt.splitlines() if ln.startswith("antiphon_sessions")]


with ServeProcess() as srv, tempfile.TemporaryDirectory() as tmp:
    sp = resample(voices.spoken("What is the capital of France?", "flite:slt"), 16000, RATE).astype(
        np.float32
    )
    wav = Path(tmp) / "q.wav"
    write_wav(
        wav, np.concatenate([np.zeros(RATE, np.float32), sp, np.zeros(6 * RATE, np.float32)]), RATE
    )
    for transport in ("websocket", "webrtc"):
        st = browser_turn(f"{srv.url}/?transport={transport}", wav)
        t0 = time.time()
        print(transport, "browser closed; answer:", st["agent"])
        for _ in range(45):
            s = sessions(srv.url)
            print(f"{time.time() - t0:5.1f}s", s, flush=True)
            if any(ln.endswith(" 0.0") for ln in s if "{" not in ln):
                break
            time.sleep(1)
