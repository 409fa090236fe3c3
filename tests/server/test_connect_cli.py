"""`antiphon connect URL --input q.wav --output reply.wav` against a live server."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from wsclient import speechlike

from antiphon.audio.io import read_wav, write_wav


def test_connect_speaks_a_file_and_writes_the_reply(fake_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    q, reply = tmp_path / "q.wav", tmp_path / "reply.wav"
    write_wav(q, np.concatenate([speechlike(0.6, rate=16000), np.zeros(8000, np.float32)]), 16000)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "antiphon.cli",
            "connect",
            fake_server.ws_url + "/v1/realtime",
            "--input",
            str(q),
            "--output",
            str(reply),
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "you:" in proc.stdout and "antiphon:" in proc.stdout, proc.stdout
    assert "after your speech ended" in proc.stdout
    audio, rate = read_wav(reply)
    assert rate == 24000 and len(audio) > 24000 * 0.3


def test_connect_reports_an_unreachable_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    q = tmp_path / "q.wav"
    write_wav(q, np.zeros(1600, np.float32), 16000)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "antiphon.cli",
            "connect",
            "ws://127.0.0.1:9/v1/realtime",
            "--input",
            str(q),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "cannot reach" in proc.stderr, proc.stderr
