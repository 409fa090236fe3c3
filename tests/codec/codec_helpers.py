"""Shared fixtures-as-functions for the codec tests (cached per test session)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

SPEECH = Path(
    "/usr/share/codec2/raw/speech_orig_16k.wav"
)  # Harvard sentences, Debian codec2-examples
SPEECH_ALT = Path("/usr/share/sounds/alsa/Front_Center.wav")  # "front center", alsa-utils


def speech_24k(seconds: float, offset: float = 0.5) -> torch.Tensor:
    """Real human speech at 24 kHz, ``[1, 1, T]`` float32."""
    for path in (SPEECH, SPEECH_ALT):
        if path.is_file():
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
            mono = soxr.resample(data.mean(axis=1), rate, 24_000).astype(np.float32)
            start = int(offset * 24_000) if mono.shape[0] > (offset + seconds) * 24_000 else 0
            clip = mono[start : start + int(seconds * 24_000)]
            return torch.from_numpy(np.ascontiguousarray(clip)).view(1, 1, -1)
    pytest.skip("no real speech file found (install Debian codec2-examples or alsa-utils)")


def make_discriminative(module, latent_fn, seed: int) -> dict[str, torch.Tensor]:
    """Make a random-init Mimi (ours or the reference) discriminative: LayerScales large
    enough that the transformers matter, positive cluster usage, and codebook centroids spread
    like the projected latents of real speech and noise (level 0) and of residuals (later)."""
    g = torch.Generator().manual_seed(seed)
    state = dict(module.state_dict())
    for key, value in state.items():
        if key.endswith("layer_scale_1.scale") or key.endswith("layer_scale_2.scale"):
            state[key] = torch.rand(value.shape, generator=g) * 0.5 + 0.1
    module.load_state_dict(state)
    x = torch.cat([speech_24k(2.0), torch.randn(1, 1, 24_000, generator=g) * 0.1], dim=-1)
    with torch.no_grad():
        latent = latent_fn(x)
    for half in ("rvq_first", "rvq_rest"):
        proj = state[f"quantizer.{half}.input_proj.weight"]
        rows = torch.nn.functional.conv1d(latent, proj).transpose(1, 2).reshape(-1, proj.shape[0])
        mean, std = rows.mean(0), rows.std(0)
        level = 0
        while f"quantizer.{half}.vq.layers.{level}._codebook.embedding_sum" in state:
            prefix = f"quantizer.{half}.vq.layers.{level}._codebook."
            bins = state[prefix + "embedding_sum"].shape[0]
            usage = torch.rand(bins, generator=g) + 0.5
            centroids = torch.randn(bins, mean.shape[0], generator=g) * std * (0.8**level)
            if level == 0:
                centroids = centroids + mean
            state[prefix + "embedding_sum"] = centroids * usage[:, None]
            state[prefix + "cluster_usage"] = usage
            state[prefix + "_initialized"] = torch.ones(1)
            level += 1
    module.load_state_dict(state)
    return state


@functools.lru_cache(maxsize=1)
def full_model(seed: int = 0):
    """Our full-size Mimi with seeded random weights and discriminative codebooks."""
    from antiphon.codec.model import MimiModel

    torch.manual_seed(seed)
    model = MimiModel().eval()
    make_discriminative(model, model.encode_latent, seed)
    model.quantizer.invalidate()
    return model


@functools.lru_cache(maxsize=1)
def reference_and_ours(seed: int = 0):
    """(moshi reference Mimi, our MimiModel) sharing one random state dict, both in eval."""
    pytest.importorskip(
        "moshi", reason="the reference oracle is installed by requirements-nodeps.txt"
    )
    from moshi.models.loaders import get_mimi

    from antiphon.codec.checkpoint import load_state
    from antiphon.codec.model import MimiModel

    torch.manual_seed(seed)
    ref = get_mimi(None, device="cpu")
    ref.eval()
    state = make_discriminative(ref, ref._encode_to_unquantized_latent, seed)
    ours = MimiModel()
    load_state(ours, state)
    ours.eval()
    return ref, ours


@functools.lru_cache(maxsize=1)
def tiny_model(seed: int = 0):
    from antiphon.codec.config import tiny_config
    from antiphon.codec.model import MimiModel

    torch.manual_seed(seed)
    model = MimiModel(tiny_config(sample_rate=24_000))
    g = torch.Generator().manual_seed(seed)
    for cb in model.quantizer.codebooks():
        cb.embedding_sum.copy_(torch.randn(cb.embedding_sum.shape, generator=g) * 0.05)
    model.quantizer.invalidate()
    return model.eval()


@pytest.fixture
def one_thread():
    """Run a heavy test on one intra-op thread: on a shared 2-core machine, two OpenMP threads
    wait on each other at every op whenever another process holds a core (10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
