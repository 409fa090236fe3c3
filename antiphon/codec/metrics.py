"""Codec quality metrics on mono numpy audio: SI-SDR, mel distance, PESQ-WB, STOI, DNSMOS,
and ASR word error rate. Optional packages (pesq, pystoi, speechmos's ONNX file,
faster-whisper) are imported lazily; a metric whose package is missing returns None.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import soxr
import torch

from antiphon.codec.losses import mel_spectrogram, si_sdr


def _to16k(audio: np.ndarray, rate: int) -> np.ndarray:
    return audio if rate == 16_000 else soxr.resample(audio, rate, 16_000).astype(np.float32)


def si_sdr_db(decoded: np.ndarray, reference: np.ndarray) -> float:
    return float(si_sdr(torch.from_numpy(decoded), torch.from_numpy(reference)))


def mel_distance(decoded: np.ndarray, reference: np.ndarray, rate: int) -> float:
    """Mean L1 distance between log-mel spectrograms (1024-point FFT, 80 mels)."""
    d = torch.log(mel_spectrogram(torch.from_numpy(decoded), rate, 1024, 80) + 1e-5)
    r = torch.log(mel_spectrogram(torch.from_numpy(reference), rate, 1024, 80) + 1e-5)
    return float((d - r).abs().mean())


def pesq_wb(decoded: np.ndarray, reference: np.ndarray, rate: int) -> float | None:
    if importlib.util.find_spec("pesq") is None:
        return None
    from pesq import pesq

    return float(pesq(16_000, _to16k(reference, rate), _to16k(decoded, rate), "wb"))


def stoi(decoded: np.ndarray, reference: np.ndarray, rate: int) -> float | None:
    if importlib.util.find_spec("pystoi") is None:
        return None
    from pystoi import stoi as _stoi

    return float(_stoi(reference, decoded, rate, extended=False))


@functools.lru_cache(maxsize=1)
def _dnsmos_session():  # -> onnxruntime.InferenceSession | None
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "dnsmos_models" / "sig_bak_ovr.onnx"
    if not path.is_file():
        return None
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_DNSMOS_POLY = {  # DNSMOS P.835 (non-personalised) calibration, from Microsoft's reference code
    "sig": np.poly1d([-0.08397278, 1.22083953, 0.0052439]),
    "bak": np.poly1d([-0.13166888, 1.60915514, -0.39604546]),
    "ovrl": np.poly1d([-0.06766283, 1.11546468, 0.04602535]),
}


def dnsmos(audio: np.ndarray, rate: int) -> dict[str, float] | None:
    """DNSMOS P.835 SIG/BAK/OVRL from the raw-waveform ONNX model that ships in ``speechmos``
    (used directly with onnxruntime: no librosa needed). Clips are tiled to 9.01 s windows."""
    sess = _dnsmos_session()
    if sess is None:
        return None
    x = _to16k(audio, rate)
    need = int(9.01 * 16_000)
    if x.size == 0:
        return None
    while x.size < need:
        x = np.concatenate([x, x])
    scores = []
    for start in range(0, x.size - need + 1, 16_000):
        seg = x[start : start + need].astype(np.float32)[None]
        scores.append(sess.run(None, {"input_1": seg})[0][0])
    sig, bak, ovrl = np.mean(scores, axis=0)
    return {
        "sig": float(_DNSMOS_POLY["sig"](sig)),
        "bak": float(_DNSMOS_POLY["bak"](bak)),
        "ovrl": float(_DNSMOS_POLY["ovrl"](ovrl)),
    }


@functools.lru_cache(maxsize=1)
def _whisper():  # -> faster_whisper.WhisperModel | None
    if importlib.util.find_spec("faster_whisper") is None:
        return None
    try:
        from faster_whisper import WhisperModel

        from antiphon.models import whisper_tiny_en

        return WhisperModel(
            str(whisper_tiny_en()), device="cpu", compute_type="int8", cpu_threads=2
        )
    except Exception:  # model package missing: the metric is skipped, not the bench
        return None


def transcribe(audio: np.ndarray, rate: int) -> str | None:
    model = _whisper()
    if model is None:
        return None
    segments, _ = model.transcribe(_to16k(audio, rate), language="en", beam_size=1)
    return " ".join(s.text.strip() for s in segments)


def word_error_rate(reference_text: str, hypothesis: str) -> float:
    import re

    import jiwer

    def norm(t: str) -> str:
        return re.sub(r"[^a-z0-9' ]+", " ", t.lower()).strip()

    ref, hyp = norm(reference_text), norm(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))
