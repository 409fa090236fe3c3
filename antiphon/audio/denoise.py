"""Input noise reduction: Speex's preprocessor (libspeexdsp, the same library as the echo
canceller) in noise-suppression mode, streaming, at the wire's sample rate.

Two profiles, as the Realtime API's `input_audio_noise_reduction` names them:
``near_field`` (a headset or close microphone: light suppression that leaves the voice
intact) and ``far_field`` (a laptop or room microphone: stronger suppression). AGC stays off
(the VAD's thresholds assume the level the client sends)."""

from __future__ import annotations

import ctypes
from typing import Literal

import numpy as np

from antiphon.audio.aec import _PP_SET_AGC, _PP_SET_DENOISE, _PP_SET_NOISE_SUPPRESS, _load
from antiphon.audio.frames import Framer

Profile = Literal["near_field", "far_field"]
SUPPRESS_DB: dict[str, int] = {"near_field": -15, "far_field": -30}
FRAME_MS = 10


class NoiseReducer:
    """float32 mono in, float32 mono out, at ``sample_rate``. Audio is processed in 10 ms
    frames; a partial frame waits for the next call (at most 10 ms of delay)."""

    def __init__(self, sample_rate: int, profile: Profile = "near_field") -> None:
        if profile not in SUPPRESS_DB:
            raise ValueError(
                f"noise reduction type must be near_field or far_field; got {profile!r}"
            )
        self._lib = _load()
        self.sample_rate, self.profile = sample_rate, profile
        self.frame_size = sample_rate * FRAME_MS // 1000
        self._pp: int | None = self._lib.speex_preprocess_state_init(self.frame_size, sample_rate)
        if not self._pp:
            raise RuntimeError("speex_preprocess_state_init failed")
        self._ctl(_PP_SET_DENOISE, 1)
        self._ctl(_PP_SET_NOISE_SUPPRESS, SUPPRESS_DB[profile])
        self._ctl(_PP_SET_AGC, 0)
        self._framer = Framer(self.frame_size)
        self._frame = np.zeros(self.frame_size, dtype=np.int16)

    def _ctl(self, request: int, value: int) -> None:
        v = ctypes.c_int32(value)
        self._lib.speex_preprocess_ctl(self._pp, request, ctypes.byref(v))

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if self._pp is None:
            raise RuntimeError("NoiseReducer is closed")
        frames = self._framer.push(audio)
        if not frames:
            return np.zeros(0, dtype=np.float32)
        out = np.empty(len(frames) * self.frame_size, dtype=np.int16)
        ptr = self._frame.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))
        for i, f in enumerate(frames):
            self._frame[:] = np.clip(np.rint(f * 32768.0), -32768, 32767)
            self._lib.speex_preprocess_run(self._pp, ptr)
            out[i * self.frame_size : (i + 1) * self.frame_size] = self._frame
        return out.astype(np.float32) / 32768.0

    def close(self) -> None:
        # a constructor that refused its arguments never made the state
        if getattr(self, "_pp", None) is not None:
            self._lib.speex_preprocess_state_destroy(self._pp)
            self._pp = None

    def __del__(self) -> None:
        self.close()
