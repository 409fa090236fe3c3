"""Acoustic echo cancellation through libspeexdsp (ctypes, no build step).

The agent's own voice leaks from the speaker into the microphone; without cancellation the
VAD hears it as the user barging in. Speex's MDF adaptive filter removes the linear echo
path (speaker -> room -> mic, up to ``tail_ms`` long), and its preprocessor, linked to the
echo state, suppresses what the filter leaves behind (residual echo). Both run on int16
frames of ``frame_ms``; this wrapper takes float32 at any multiple of the frame size.

``near`` (mic) and ``far`` (what was played at the same moment) must be time-aligned to
within the tail: the filter models the delay, but cannot look into the future.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading

import numpy as np

# speex_echo.h / speex_preprocess.h request codes
_ECHO_SET_SAMPLING_RATE = 24
_PP_SET_DENOISE = 0
_PP_SET_AGC = 2
_PP_SET_DEREVERB = 8
_PP_SET_NOISE_SUPPRESS = 18
_PP_SET_ECHO_SUPPRESS = 20
_PP_SET_ECHO_SUPPRESS_ACTIVE = 22
_PP_SET_ECHO_STATE = 24

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


class SpeexDSPMissing(RuntimeError):
    """libspeexdsp is not installed."""


def _load() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        names = ["libspeexdsp.so.1", ctypes.util.find_library("speexdsp"), "libspeexdsp.dylib"]
        for name in filter(None, names):
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            raise SpeexDSPMissing(
                "libspeexdsp (libspeexdsp.so.1) not found: install the Debian/Ubuntu package "
                "`libspeexdsp1` (apt-get install libspeexdsp1), or `speexdsp` on macOS/Homebrew"
            )
        vp, i16p, c_int = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int
        lib.speex_echo_state_init.argtypes, lib.speex_echo_state_init.restype = [c_int, c_int], vp
        lib.speex_echo_state_destroy.argtypes, lib.speex_echo_state_destroy.restype = [vp], None
        lib.speex_echo_state_reset.argtypes, lib.speex_echo_state_reset.restype = [vp], None
        lib.speex_echo_ctl.argtypes, lib.speex_echo_ctl.restype = [vp, c_int, vp], c_int
        lib.speex_echo_cancellation.argtypes = [vp, i16p, i16p, i16p]
        lib.speex_echo_cancellation.restype = None
        lib.speex_preprocess_state_init.argtypes = [c_int, c_int]
        lib.speex_preprocess_state_init.restype = vp
        lib.speex_preprocess_state_destroy.argtypes = [vp]
        lib.speex_preprocess_state_destroy.restype = None
        lib.speex_preprocess_ctl.argtypes, lib.speex_preprocess_ctl.restype = [vp, c_int, vp], c_int
        lib.speex_preprocess_run.argtypes, lib.speex_preprocess_run.restype = [vp, i16p], c_int
        _lib = lib
        return lib


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16))


def _ptr(a: np.ndarray) -> ctypes._Pointer[ctypes.c_int16]:
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))


class EchoCanceller:
    """Speex MDF echo canceller plus optional residual-echo suppression.

    ``residual_suppression``: run speex_preprocess linked to the echo state (recommended;
    the linear filter alone typically gives 10-20 dB). ``echo_suppress_db`` and
    ``echo_suppress_active_db`` are its maximum attenuation without and with near-end speech.
    ``denoise`` additionally enables Speex noise suppression (off by default: it colours the
    user's voice, and the ASR copes with stationary noise better than with artefacts).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_ms: int = 10,
        tail_ms: int = 300,
        residual_suppression: bool = True,
        echo_suppress_db: int = -40,
        echo_suppress_active_db: int = -15,
        denoise: bool = False,
        noise_suppress_db: int = -15,
    ) -> None:
        if frame_ms not in (10, 20):
            raise ValueError(f"frame_ms must be 10 or 20; got {frame_ms}")
        if sample_rate not in (8000, 16000, 24000, 32000, 48000):
            raise ValueError(f"sample_rate {sample_rate} not supported (8/16/24/32/48 kHz)")
        self._lib = _load()
        self.sample_rate = sample_rate
        self.frame_size = sample_rate * frame_ms // 1000
        self.tail = sample_rate * tail_ms // 1000
        self._lock = threading.Lock()
        self._echo: int | None = self._lib.speex_echo_state_init(self.frame_size, self.tail)
        self._pp: int | None = None
        if not self._echo:
            raise RuntimeError("speex_echo_state_init failed")
        self._ctl_echo(_ECHO_SET_SAMPLING_RATE, sample_rate)
        if residual_suppression or denoise:
            self._pp = self._lib.speex_preprocess_state_init(self.frame_size, sample_rate)
            if not self._pp:
                self.close()
                raise RuntimeError("speex_preprocess_state_init failed")
            # Speex applies its spectral gains only with denoise enabled (preprocess.c resets
            # them to 1 otherwise), so residual-echo suppression needs it on; without
            # ``denoise`` the noise attenuation is capped at a token few dB instead.
            self._ctl_pp(_PP_SET_DENOISE, 1)
            self._ctl_pp(_PP_SET_NOISE_SUPPRESS, noise_suppress_db if denoise else -3)
            self._ctl_pp(_PP_SET_AGC, 0)
            self._ctl_pp(_PP_SET_DEREVERB, 0)
            if residual_suppression:
                self._lib.speex_preprocess_ctl(self._pp, _PP_SET_ECHO_STATE, self._echo)
                self._ctl_pp(_PP_SET_ECHO_SUPPRESS, echo_suppress_db)
                self._ctl_pp(_PP_SET_ECHO_SUPPRESS_ACTIVE, echo_suppress_active_db)
        self._out = np.zeros(self.frame_size, dtype=np.int16)
        self.last_linear = np.zeros(0, dtype=np.float32)
        # The preprocessor's overlap-add delays its output by one frame; callers that align
        # the output with other signals (tests, truncation bookkeeping) need to know.
        self.latency_samples = self.frame_size if self._pp is not None else 0

    def _ctl_echo(self, request: int, value: int) -> None:
        v = ctypes.c_int32(value)
        self._lib.speex_echo_ctl(self._echo, request, ctypes.byref(v))

    def _ctl_pp(self, request: int, value: int) -> None:
        v = ctypes.c_int32(value)
        self._lib.speex_preprocess_ctl(self._pp, request, ctypes.byref(v))

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Mic audio with the echo of ``far`` removed (float32, same length as ``near``).

        Both arrays hold the same number of samples, a multiple of ``frame_size``.
        """
        near = np.asarray(near, dtype=np.float32).reshape(-1)
        far = np.asarray(far, dtype=np.float32).reshape(-1)
        if near.shape != far.shape:
            raise ValueError(
                f"near and far must have the same length; got {near.size} and {far.size}"
            )
        if near.size % self.frame_size:
            raise ValueError(
                f"audio length {near.size} is not a multiple of the AEC frame size {self.frame_size}"
            )
        rec, play = _to_int16(near), _to_int16(far)
        out = np.empty_like(rec)
        linear = np.empty_like(rec)
        with self._lock:
            if self._echo is None:
                raise RuntimeError("EchoCanceller is closed")
            n = self.frame_size
            for i in range(0, rec.size, n):
                self._lib.speex_echo_cancellation(
                    self._echo, _ptr(rec[i : i + n]), _ptr(play[i : i + n]), _ptr(self._out)
                )
                linear[i : i + n] = self._out
                if self._pp is not None:
                    self._lib.speex_preprocess_run(self._pp, _ptr(self._out))
                out[i : i + n] = self._out
        # the linear filter's output, before residual suppression: levels measured on it
        # are not pulled down by the suppressor while the agent talks (double talk)
        self.last_linear = linear.astype(np.float32) / 32768.0
        return out.astype(np.float32) / 32768.0

    def reset(self) -> None:
        """Forget the learned echo path (e.g. the audio device changed)."""
        with self._lock:
            if self._echo is not None:
                self._lib.speex_echo_state_reset(self._echo)

    def close(self) -> None:
        with self._lock:
            if self._pp is not None:
                self._lib.speex_preprocess_state_destroy(self._pp)
                self._pp = None
            if self._echo is not None:
                self._lib.speex_echo_state_destroy(self._echo)
                self._echo = None

    def __enter__(self) -> EchoCanceller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # At interpreter shutdown the library may already be gone.
        with contextlib.suppress(Exception):
            self.close()
