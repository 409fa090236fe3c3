"""`antiphon respond` and `antiphon chat` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from speech import synth

from antiphon.audio.io import read_wav, rms_dbfs, write_wav

pytestmark = pytest.mark.models


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "antiphon.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_respond_answers_a_wav_file(tmp_path: Path) -> None:
    question = tmp_path / "q.wav"
    write_wav(question, synth("What is the capital of Japan?"), 16000)
    reply = tmp_path / "reply.wav"
    done = _run("respond", "--llm", "smollm2", str(question), str(reply))
    assert done.returncode == 0, done.stderr
    assert "USER : What is the capital of Japan?" in done.stdout
    audio, rate = read_wav(reply)
    assert rate == 24000 and len(audio) > rate // 2 and rms_dbfs(audio) > -35


def test_respond_rejects_a_file_that_is_not_audio(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    done = _run("respond", str(bogus), str(tmp_path / "out.wav"))
    assert done.returncode == 2 and "cannot read audio file" in done.stderr


def test_chat_without_audio_devices_says_what_to_do() -> None:
    done = _run("chat")
    assert done.returncode == 2
    assert "antiphon demo" in done.stderr and "antiphon serve" in done.stderr
