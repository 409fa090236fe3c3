"""Non-speech sounds a listener makes or hears while the agent talks, made with numpy: a
cough, a laugh-like burst, a knock on a door. The agent should talk through them. Every
sound is drawn from the scenario's own generator, so a seed gives the same samples."""

from __future__ import annotations

import numpy as np
from scipy import signal

NOISES = ("cough", "laugh", "knock")


def _band(x: np.ndarray, lo: float, hi: float, rate: int) -> np.ndarray:
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def cough(rng: np.random.Generator, rate: int) -> np.ndarray:
    """One or two coughs: a sharp burst of broadband noise (glottis opening), then a
    shorter, darker decay; 0.25-0.4 s each."""
    out: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, 3))):
        n = int(float(rng.uniform(0.25, 0.4)) * rate)
        t = np.arange(n) / rate
        env = (1 - np.exp(-t / 0.005)) * np.exp(-t / float(rng.uniform(0.06, 0.1)))
        burst = _band(rng.standard_normal(n), 200.0, float(rng.uniform(2500, 4000)), rate)
        out += [burst * env, np.zeros(int(float(rng.uniform(0.1, 0.2)) * rate), np.float32)]
    return np.concatenate(out[:-1]).astype(np.float32)


def laugh(rng: np.random.Generator, rate: int) -> np.ndarray:
    """ "Ha-ha-ha": 3-5 breathy voiced pulses (a glottal pulse train at a falling pitch with
    aspiration noise, through the formants of /a/), 90-140 ms each, 60-110 ms apart."""
    f0 = float(rng.uniform(180, 280))
    b, a = _formants(rate, [(800.0, 90.0), (1250.0, 110.0), (2600.0, 160.0)])
    out: list[np.ndarray] = []
    for k in range(int(rng.integers(3, 6))):
        n = int(float(rng.uniform(0.09, 0.14)) * rate)
        pitch = f0 * (1 - 0.05 * k)
        phase = np.cumsum(np.full(n, pitch / rate))
        pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float64)
        source = pulses + 0.15 * rng.standard_normal(n)  # breathiness
        env = np.sin(np.linspace(0.0, np.pi, n)) ** 0.7
        out += [signal.lfilter(b, a, source) * env, np.zeros(int(rng.uniform(0.06, 0.11) * rate))]
    return np.concatenate(out[:-1]).astype(np.float32)


def knock(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Two to four knocks on a wooden door: each a click and damped resonances of the panel
    (low hundreds of Hz, 20-40 ms decay), ~0.15-0.25 s apart."""
    out: list[np.ndarray] = []
    for _ in range(int(rng.integers(2, 5))):
        n = int(0.12 * rate)
        t = np.arange(n) / rate
        tone = sum(
            float(rng.uniform(0.5, 1.0))
            * np.sin(2 * np.pi * float(rng.uniform(f * 0.9, f * 1.1)) * t)
            * np.exp(-t / float(rng.uniform(0.02, 0.04)))
            for f in (140.0, 310.0, 620.0)
        )
        click = _band(rng.standard_normal(n) * np.exp(-t / 0.002), 100.0, 2000.0, rate)
        out += [tone + 0.3 * click, np.zeros(int(float(rng.uniform(0.03, 0.13)) * rate))]
    return np.concatenate(out[:-1]).astype(np.float32)


def _formants(rate: int, formants: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """A cascade of two-pole resonators (centre frequency, bandwidth in Hz) as one IIR."""
    b, a = np.array([1.0]), np.array([1.0])
    for f, bw in formants:
        r = np.exp(-np.pi * bw / rate)
        a = np.convolve(a, [1.0, -2 * r * np.cos(2 * np.pi * f / rate), r * r])
        b = b * (1 - r)
    return b, a


def make(name: str, rng: np.random.Generator, rate: int) -> np.ndarray:
    """Sound ``name`` (one of NOISES), peak-normalized to 0.5; levels are set by the caller."""
    makers = {"cough": cough, "laugh": laugh, "knock": knock}
    if name not in makers:
        raise ValueError(f"unknown noise {name!r}; choose from {', '.join(NOISES)}")
    x = makers[name](rng, rate)
    return (0.5 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)
