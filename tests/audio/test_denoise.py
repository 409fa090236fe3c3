"""Input noise reduction (speexdsp preprocessor): a measured SNR gain on real speech, and
streaming in odd chunk sizes equals one pass."""

from __future__ import annotations

import numpy as np
import pytest
from bench_denoise import measure

from antiphon.audio.denoise import NoiseReducer


@pytest.mark.parametrize(("profile", "gain_db"), [("near_field", 10.0), ("far_field", 18.0)])
def test_snr_gain_on_speech_in_white_noise(profile: str, gain_db: float) -> None:
    m = measure(5, profile)
    assert m["snr_out_db"] - m["snr_in_db"] >= gain_db, m
    assert m["speech_drop_db"] <= 2.5, m  # the voice is kept


def test_low_frequency_noise_is_reduced_too() -> None:
    m = measure(5, "far_field", "lowpass")
    assert m["snr_out_db"] - m["snr_in_db"] >= 10.0, m


def test_streaming_in_odd_chunks_equals_one_pass() -> None:
    x = (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32)
    whole = NoiseReducer(24000, "near_field")(x)
    nr = NoiseReducer(24000, "near_field")
    parts = [nr(x[i : i + 333]) for i in range(0, len(x), 333)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="near_field or far_field"):
        NoiseReducer(24000, "studio")  # type: ignore[arg-type]
