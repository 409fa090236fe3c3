"""How long a call stays open on the server after the browser that made it closes: one
question through headless Chromium per transport, then /metrics' open sessions every second.
Run: .venv/bin/python tests/server/bench_dropped_call.py"""

import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, "tests/server")
from bench_browser_latency import browser_turn, question_wav
from serve_process import ServeProcess


def sessions(url):
    txt = urllib.request.urlopen(url + "/metrics").read().decode()
    return [ln for ln in txt.splitlines() if ln.startswith("antiphon_sessions")]


with ServeProcess() as srv, tempfile.TemporaryDirectory() as tmp:
    wav = Path(tmp) / "q.wav"
    question_wav(wav, "What is the capital of France?", "flite:slt", tail_s=6.0)
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
