"""Our Mimi vs the reference ``moshi==0.2.13`` Mimi (test-only oracle), same random weights.

Codes must be identical except documented argmin ties: a code may differ only where the two
nearest centroids are within 1e-4 (relative) of each other for the reference's own latent;
later codebooks of that (item, frame) column then legitimately diverge and are not compared.
"""

from __future__ import annotations

import pytest
import torch
from codec_helpers import one_thread, reference_and_ours, speech_24k  # noqa: F401

TIE_RTOL = 1e-4
FS = 1920

pytestmark = pytest.mark.usefixtures("one_thread")


def _chain_ties(rvq, latent: torch.Tensor, ref_codes: torch.Tensor, our_codes: torch.Tensor):
    """For one RVQ chain, return (#columns with a near-tie first mismatch, #real mismatches)."""
    b, k, t = ref_codes.shape
    flat = (
        torch.nn.functional.conv1d(latent, rvq.input_proj.weight).transpose(1, 2).reshape(b * t, -1)
    )
    ref_flat = ref_codes.permute(0, 2, 1).reshape(b * t, k)
    our_flat = our_codes.permute(0, 2, 1).reshape(b * t, k)
    ties = real = 0
    residual = flat.clone()
    diverged = torch.zeros(b * t, dtype=torch.bool)
    for level, cb in enumerate(rvq.vq.codebooks(k)):
        emb = cb.embedding
        r_code, o_code = ref_flat[:, level], our_flat[:, level]
        new = (r_code != o_code) & ~diverged
        for i in torch.nonzero(new).flatten().tolist():
            d_ref = float(((residual[i] - emb[r_code[i]]) ** 2).sum())
            d_our = float(((residual[i] - emb[o_code[i]]) ** 2).sum())
            if abs(d_our - d_ref) <= TIE_RTOL * max(d_ref, 1e-12):
                ties += 1
            else:
                real += 1
        diverged |= new
        residual = residual - emb[r_code]
    return ties, real


def assert_codes_match(
    ours, ref_codes: torch.Tensor, our_codes: torch.Tensor, latent: torch.Tensor
) -> None:
    assert ref_codes.shape == our_codes.shape
    q = ours.quantizer
    ties1, real1 = _chain_ties(q.rvq_first, latent, ref_codes[:, :1], our_codes[:, :1])
    ties2, real2 = _chain_ties(q.rvq_rest, latent, ref_codes[:, 1:], our_codes[:, 1:])
    columns = ref_codes.shape[0] * ref_codes.shape[-1]
    assert real1 + real2 == 0, f"{real1 + real2} code mismatches that are not argmin ties"
    assert ties1 + ties2 <= max(1, columns // 50), (
        f"too many argmin ties: {ties1 + ties2}/{columns}"
    )
    # distinct codes: the comparison is not between constant sequences
    assert len(torch.unique(ref_codes)) > ref_codes.shape[1]


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return {
        "noise": torch.randn(1, 1, 8 * FS, generator=g) * 0.1,
        "speech": speech_24k(8 * FS / 24_000),
    }


@pytest.mark.parametrize("kind", ["noise", "speech"])
def test_batch_codes_and_audio_match_reference(kind: str) -> None:
    ref, ours = reference_and_ours()
    x = _inputs()[kind]
    with torch.inference_mode():
        ref_codes = ref.encode(x)
        our_codes = ours.encode(x)
        latent = ref._encode_to_unquantized_latent(x)
        assert_codes_match(ours, ref_codes, our_codes, latent)
        ref_audio = ref.decode(ref_codes)
        our_audio = ours.decode(ref_codes)
    assert our_audio.shape == ref_audio.shape == (1, 1, x.shape[-1])
    assert float(ref_audio.abs().max()) > 1e-3
    assert float((our_audio - ref_audio).abs().max()) < 1e-4


def test_batch_padding_of_partial_frames_matches_reference() -> None:
    ref, ours = reference_and_ours()
    x = speech_24k(0.5)[..., : 3 * FS + 777]
    with torch.inference_mode():
        ref_codes, our_codes = ref.encode(x), ours.encode(x)
        assert_codes_match(ours, ref_codes, our_codes, ref._encode_to_unquantized_latent(x))
    assert our_codes.shape[-1] == 4


@pytest.mark.parametrize("kind", ["noise", "speech"])
def test_streaming_codes_and_audio_match_reference(kind: str) -> None:
    ref, ours = reference_and_ours()
    x = _inputs()[kind]
    frames = x.shape[-1] // FS
    ref_codes, ref_audio, our_codes, our_audio = [], [], [], []
    with torch.inference_mode():
        state = ours.init_state(1)
        with ref.streaming(1):
            for i in range(frames):
                f = x[..., i * FS : (i + 1) * FS]
                ref_codes.append(ref.encode(f))
                our_codes.append(ours.encode_step(f, state.encoder))
                ref_audio.append(ref.decode(ref_codes[-1]))
                our_audio.append(ours.decode_step(ref_codes[-1], state.decoder))
        rc, oc = torch.cat(ref_codes, -1), torch.cat(our_codes, -1)
        assert_codes_match(ours, rc, oc, ref._encode_to_unquantized_latent(x))
    ra, oa = torch.cat(ref_audio, -1), torch.cat(our_audio, -1)
    assert float((oa - ra).abs().max()) < 1e-4


def test_variable_number_of_codebooks_matches_reference() -> None:
    ref, ours = reference_and_ours()
    x = speech_24k(0.5)
    try:
        with torch.inference_mode():
            for n in (1, 4, 32):
                ref.set_num_codebooks(n)
                ours.set_num_codebooks(n)
                rc, oc = ref.encode(x), ours.encode(x)
                assert oc.shape[1] == n
                assert_codes_match(ours, rc, oc, ref._encode_to_unquantized_latent(x))
                assert float((ours.decode(rc) - ref.decode(rc)).abs().max()) < 1e-4
    finally:
        ref.set_num_codebooks(8)
        ours.set_num_codebooks(8)


def test_our_code_does_not_import_moshi_at_run_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys, torch; from antiphon.codec.model import MimiModel; "
        "from antiphon.codec import checkpoint, cli, streaming, losses, train_step; "
        "m = MimiModel().eval(); m.encode(torch.zeros(1, 1, 1920)); "
        "assert 'moshi' not in sys.modules, 'moshi imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
