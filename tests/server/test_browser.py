"""The browser page in a real browser: Debian's headless Chromium (driven by playwright-core)
with its microphone fed from a WAV file talks to a live server on the real cascade."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_brain import fake_context
from speech import synth

from antiphon.audio.io import write_wav
from antiphon.server import webrtc_channel
from antiphon.server.runner import BackgroundServer

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _browser(
    url: str,
    mode: str,
    wav: str = "",
    shot: str = "",
    timeout_s: int = 150,
    settings: dict[str, Any] | None = None,
) -> dict:  # type: ignore[type-arg]
    if not Path(CHROMIUM).exists() or shutil.which("node") is None:
        pytest.fail("chromium and node are required (run `make setup`)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is not installed (run `make setup`)")
    env = {**os.environ, "BROWSER_TIMEOUT_MS": str(timeout_s * 1000), "CHROMIUM": CHROMIUM}
    if settings is not None:
        env["PAGE_SETTINGS"] = json.dumps(settings)
    proc = subprocess.run(
        ["node", str(HERE / "browser_check.mjs"), url, mode, wav, shot],
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        cwd=ROOT,
        env=env,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no state from the page (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    state: dict = json.loads(lines[-1])  # type: ignore[type-arg]
    assert proc.returncode == 0, (
        f"page never reached the expected state: {state}\n{proc.stderr[-2000:]}"
    )
    return state


def test_page_reports_unreachable_server(fake_server) -> None:  # type: ignore[no-untyped-def]
    state = _browser(
        fake_server.url + "/?server=ws://127.0.0.1:9/v1/realtime", "unreachable", timeout_s=30
    )
    assert "unreachable" in state["notice"]


def test_page_reports_denied_microphone(fake_server) -> None:  # type: ignore[no-untyped-def]
    state = _browser(fake_server.url + "/", "denied", timeout_s=30)
    assert "Microphone access was denied" in state["notice"]


def test_page_talks_over_webrtc(fake_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The page's default transport on the instant fake brain: Opus both ways, events on
    the data channel, the answer audible on the page. A person's settings (persona, voice
    speed, demo tools off) reach the server; the page shows the transport and a timed log."""
    rate = 48000
    noise = 0.3 * np.random.default_rng(0).standard_normal(int(rate * 0.8))
    wav = tmp_path / "noise.wav"
    signal = [np.zeros(rate, np.float32), noise.astype(np.float32), np.zeros(rate * 6, np.float32)]
    write_wav(wav, np.concatenate(signal), rate)
    persona = "You are a patient pirate who answers in one sentence."
    state = _browser(
        fake_server.url + "/",
        "talk",
        str(wav),
        timeout_s=60,
        settings={"instructions": persona, "speed": 1.5, "demoTools": False},
    )
    assert state["transport"] == "webrtc" and state["fallback"] is None, state
    assert state["transportShown"].startswith("WebRTC"), state["transportShown"]
    session = state["session"]  # as the server echoed it
    assert session["instructions"] == persona
    assert session["audio"]["output"]["speed"] == 1.5
    assert session["x_antiphon"]["demo_tools"] is False
    times = [e["t"] for e in state["events"]]
    assert times == sorted(times) and times[0] >= 0
    assert any("session.created" in line for line in state["eventLog"]), state["eventLog"]
    assert all(float(line.split()[0]) >= 0 for line in state["eventLog"])  # seconds since start
    assert state["user"] == ["what is the weather in Paris"]
    assert state["agent"] == ["Hello from the fake brain."]
    assert 0.4 * 24000 < state["played"] < 1.2 * 24000, state  # the 0.6 s beep, once
    types = [e["type"] for e in state["events"]]
    assert "response.output_audio.delta" not in types
    assert types.index("output_audio_buffer.started") < types.index("output_audio_buffer.stopped")


def test_page_falls_back_to_the_websocket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A call whose WebRTC connection cannot be made (the server offers a host candidate
    nobody can reach) ends in the page's fallback: it talks over the WebSocket instead."""
    rate = 48000
    noise = 0.3 * np.random.default_rng(0).standard_normal(int(rate * 0.8))
    wav = tmp_path / "noise.wav"
    # the data channel is given 10 s before the page falls back: the speech comes after
    signal = [np.zeros(rate * 12, np.float32), noise.astype(np.float32)]
    write_wav(wav, np.concatenate([*signal, np.zeros(rate * 6, np.float32)]), rate)
    # the host addresses are process-wide (aioice's lookup is wrapped once): the servers
    # other tests share in this process must get theirs back afterwards
    before = webrtc_channel._host_addresses
    unreachable = fake_context(webrtc_host_addresses=("192.0.2.1",))  # TEST-NET-1
    try:
        with BackgroundServer(unreachable) as srv:
            state = _browser(srv.url + "/", "talk", str(wav), timeout_s=60)
    finally:
        webrtc_channel.set_host_addresses(before)
    assert state["transport"] == "websocket", state
    assert "data channel did not open" in state["fallback"], state["fallback"]
    assert "using the WebSocket instead" in state["notice"]
    assert state["user"] == ["what is the weather in Paris"]
    assert state["agent"] == ["Hello from the fake brain."]


@pytest.mark.models
@pytest.mark.slow
@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_spoken_question_in_a_real_browser(cascade_server, tmp_path, transport) -> None:  # type: ignore[no-untyped-def]
    rate = 48000
    question = synth("What is the capital of France?", sample_rate=rate)
    wav = tmp_path / "question.wav"
    write_wav(
        wav,
        np.concatenate([np.zeros(rate, np.float32), question, np.zeros(rate * 12, np.float32)]),
        rate,
    )
    shot = tmp_path / "browser.png"
    state = _browser(cascade_server.url + f"/?transport={transport}", "talk", str(wav), str(shot))
    assert state["transport"] == transport, state
    heard = " ".join(state["user"]).lower()
    said = " ".join(state["agent"]).lower()
    assert "capital" in heard and "france" in heard, state
    assert "paris" in said, state
    assert state["played"] > 24000 * 0.5, (
        state
    )  # the page played at least half a second of the answer
    assert "france" in state["transcript"].lower() and "paris" in state["transcript"].lower()
    assert state["latencies"], "the page shows a per-turn latency"
    assert shot.stat().st_size > 10_000
    if os.environ.get("ANTIPHON_KEEP_SCREENSHOT") and transport == "webrtc":
        shutil.copy(shot, os.environ["ANTIPHON_KEEP_SCREENSHOT"])
