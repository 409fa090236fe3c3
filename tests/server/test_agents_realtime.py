"""OpenAI's official @openai/agents-realtime SDK (npm, pinned) in headless Chromium: a
RealtimeSession with its WebRTC transport pointed at antiphon (baseUrl), the microphone
fed from a WAV with two spoken questions: an answer, then a function-tool round trip
(the page executes get_weather; the SDK sends the output and asks for the answer)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from speech import synth

from antiphon.audio.io import write_wav

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def test_agents_realtime_session_over_webrtc(any_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = ROOT / "node_modules/@openai/agents-realtime/dist/bundle/openai-realtime-agents.mjs"
    if not bundle.is_file() or not Path(CHROMIUM).exists():
        pytest.fail("@openai/agents-realtime and chromium are required (run `make setup`)")
    rate = 48000

    def gap(s: float) -> np.ndarray:
        return np.zeros(int(rate * s), np.float32)

    q1 = synth("What is the capital of France?", sample_rate=rate)
    q2 = synth("What is the weather in Paris?", sample_rate=rate)
    wav = tmp_path / "questions.wav"
    write_wav(wav, np.concatenate([gap(1), q1, gap(12), q2, gap(20)]), rate)
    timeout_s = 200
    proc = subprocess.run(
        ["node", str(HERE / "agents_check.mjs"), any_server.url, str(wav)],
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        cwd=ROOT,
        env={**os.environ, "BROWSER_TIMEOUT_MS": str(timeout_s * 1000), "CHROMIUM": CHROMIUM},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no state from the page (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    state = json.loads(lines[-1])
    assert proc.returncode == 0 and state["connected"] and not state["error"], (
        state,
        proc.stderr[-2000:],
    )
    assert not state["errors"], state["errors"]
    assert [c.lower() for c in state["toolCalls"]] == ["paris"], state
    assert state["toolResults"][0]["name"] == "get_weather"
    history = state["history"]
    call = next(i for i, h in enumerate(history) if h["type"] == "function_call")
    assert "sunny" in history[call]["output"]
    answers = [h["text"].lower() for h in history[call:] if h.get("role") == "assistant"]
    assert any("sunny" in a or "21" in a for a in answers), history
    spoken = [h["text"].lower() for h in history if h.get("role") == "assistant" and h["text"]]
    assert len(spoken) >= 2, history  # a spoken answer besides the tool's
    assert "output_audio_buffer.started" in state["events"]
