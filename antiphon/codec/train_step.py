"""One codec training step: reconstruction, adversarial, feature-matching, commitment and
semantic-distillation losses, with the discriminator updated first. The training loop
(data, schedules, checkpoints) belongs to ``antiphon.train``; this is the unit it calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from antiphon.codec.config import LossWeights
from antiphon.codec.discriminator import (
    MultiScaleSTFTDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from antiphon.codec.distill import DistillationHead, SemanticTeacher
from antiphon.codec.losses import MultiScaleMelLoss, MultiScaleSTFTLoss
from antiphon.codec.model import MimiModel


@dataclass
class CodecTrainer:
    model: MimiModel
    weights: LossWeights = field(default_factory=LossWeights)
    discriminator: MultiScaleSTFTDiscriminator | None = None
    teacher: SemanticTeacher | None = None
    lr: float = 3e-4
    betas: tuple[float, float] = (0.5, 0.9)

    def __post_init__(self) -> None:
        sr = self.model.sample_rate
        self.mel_loss = MultiScaleMelLoss(
            sr, scales=tuple(i for i in range(6, 12) if 2**i <= sr // 8)
        )
        self.stft_loss = MultiScaleSTFTLoss(
            n_ffts=tuple(n for n in (512, 1024, 2048) if n <= sr // 8)
        )
        self.head: DistillationHead | None = None
        params = list(self.model.parameters())
        if self.teacher is not None:
            self.head = DistillationHead(self.model.config.seanet.dimension, self.teacher.dim)
            params += list(self.head.parameters())
        self.opt_g = torch.optim.Adam(params, lr=self.lr, betas=self.betas)
        self.opt_d = None
        if self.discriminator is not None:
            self.opt_d = torch.optim.Adam(
                self.discriminator.parameters(), lr=self.lr, betas=self.betas
            )

    def _teacher_features(self, audio: torch.Tensor) -> torch.Tensor:
        assert self.teacher is not None
        if self.teacher.sample_rate != self.model.sample_rate:
            audio = F.interpolate(
                audio, scale_factor=self.teacher.sample_rate / self.model.sample_rate, mode="linear"
            )
        return self.teacher(audio.reshape(audio.shape[0], -1))

    def step(self, audio: torch.Tensor) -> dict[str, float]:
        """One optimisation step on ``[B, 1, T]`` audio; returns the loss values."""
        self.model.train()
        result = self.model(audio)
        recon = result.x
        logs: dict[str, float] = {}
        w = self.weights

        if self.discriminator is not None and self.opt_d is not None:
            real_logits, _ = self.discriminator(audio)
            fake_logits, _ = self.discriminator(recon.detach())
            d_loss = discriminator_hinge_loss(real_logits, fake_logits)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            logs["d_hinge"] = float(d_loss.detach())

        terms: dict[str, torch.Tensor] = {
            "mel": self.mel_loss(recon, audio),
            "stft": self.stft_loss(recon, audio),
            "commitment": result.penalty,
        }
        if self.discriminator is not None:
            fake_logits, fake_feats = self.discriminator(recon)
            with torch.no_grad():
                _, real_feats = self.discriminator(audio)
            terms["adversarial"] = generator_adversarial_loss(fake_logits)
            terms["feature"] = feature_matching_loss(real_feats, fake_feats)
        if self.head is not None and result.semantic is not None:
            terms["distill"] = self.head(result.semantic, self._teacher_features(audio))
        total = sum((getattr(w, k) * v for k, v in terms.items()), audio.new_zeros(()))
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        logs["total"] = float(total.detach())
        for key, value in result.metrics.items():
            if key in ("rvq_entropy", "rvq_expired"):
                logs[key] = float(value)
        return logs
