"""SNR gain of the input noise reduction on real speech (piper) in stationary noise.

Run: .venv/bin/python tests/audio/bench_denoise.py  (prints one line per case). The test in
test_denoise.py checks one of these cases; docs/server.md quotes the table."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/speech.py

from speech import synth  # noqa: E402

from antiphon.audio.denoise import NoiseReducer  # noqa: E402

RATE = 24000
SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x**2) + 1e-20))


def _snr(span_db: float, floor_db: float) -> float:
    """Speech-to-noise ratio of a span from its power and the noise floor's (dB)."""
    return float(10 * np.log10(max(10 ** (span_db / 10) - 10 ** (floor_db / 10), 1e-20)) - floor_db)


def measure(snr_db: float, profile: str, noise: str = "white") -> dict[str, float]:
    """2 s of noise, the sentence, 1 s of noise; the noise floor is read on the last second
    (after the suppressor has learnt the noise), the speech on the sentence's span."""
    clean = synth(SENTENCE, sample_rate=RATE)
    sig = np.concatenate([np.zeros(2 * RATE), clean, np.zeros(RATE)]).astype(np.float32)
    n = np.random.default_rng(1).standard_normal(len(sig))
    if noise == "lowpass":  # fan / road rumble: most energy low in the spectrum
        n = lfilter([1.0], [1.0, -0.95], n)
    n *= np.sqrt(np.mean(clean**2) / np.mean(n**2) / 10 ** (snr_db / 10))
    noisy = (sig + n).astype(np.float32)
    nr = NoiseReducer(RATE, profile)  # type: ignore[arg-type]
    out = np.concatenate([nr(noisy[i : i + 480]) for i in range(0, len(noisy), 480)])
    out = np.concatenate(
        [out[nr.frame_size :], np.zeros(nr.frame_size, np.float32)]
    )  # 1 frame late
    s0, s1, tail = 2 * RATE, 2 * RATE + len(clean), 2 * RATE + len(clean) + RATE // 4
    end = len(noisy) - nr.frame_size
    n_in, n_out = _db(noisy[tail:end]), _db(out[tail:end])
    sp_in, sp_out = _db(noisy[s0:s1]), _db(out[s0:s1])
    return {
        "noise_drop_db": n_in - n_out,
        "speech_drop_db": sp_in - sp_out,
        "snr_in_db": _snr(sp_in, n_in),
        "snr_out_db": _snr(sp_out, n_out),
    }


if __name__ == "__main__":
    for noise in ("white", "lowpass"):
        for snr in (0, 5, 10):
            for profile in ("near_field", "far_field"):
                m = measure(snr, profile, noise)
                print(
                    f"{noise:8s} {snr:2d} dB {profile:10s}  noise -{m['noise_drop_db']:.1f} dB, "
                    f"speech -{m['speech_drop_db']:.1f} dB, SNR {m['snr_in_db']:.1f} -> "
                    f"{m['snr_out_db']:.1f} dB (+{m['snr_out_db'] - m['snr_in_db']:.1f})"
                )
