"""Bad input to the model and the streaming wrappers fails clearly or is handled."""

from __future__ import annotations

import pytest
import torch
from codec_helpers import tiny_model

from antiphon.codec.streaming import AudioInputError, StreamingDecoder, StreamingEncoder


def test_stereo_and_bad_shapes_are_rejected() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match=r"audio must be \[batch, 1, samples\]"):
        model.encode(torch.zeros(1, 2, 640))
    with pytest.raises(AudioInputError, match="2 channels; downmix first"):
        StreamingEncoder(model).push(torch.zeros(1, 2, 640))
    with pytest.raises(AudioInputError, match="floating point"):
        StreamingEncoder(model).push(torch.zeros(1, 640, dtype=torch.int16))


def test_nan_and_inf_samples_are_rejected() -> None:
    enc = StreamingEncoder(tiny_model())
    for bad in (float("nan"), float("inf")):
        x = torch.zeros(1, 700)
        x[0, 5] = bad
        with pytest.raises(AudioInputError, match="NaN or infinite"):
            enc.push(x)
    assert enc.pending_samples == 0  # nothing half-consumed


def test_partial_and_empty_frames_in_streaming() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="positive multiple of 640"):
        model.encode_step(torch.zeros(1, 1, 100), model.init_state(1).encoder)
    with pytest.raises(ValueError, match="positive multiple"):
        model.encode_step(torch.zeros(1, 1, 0), model.init_state(1).encoder)
    enc = StreamingEncoder(model)
    assert enc.push(torch.zeros(1, 0)).shape[-1] == 0
    assert enc.push(torch.zeros(1, 300)).shape[-1] == 0
    assert enc.push(torch.zeros(1, 300)).shape[-1] == 0
    assert enc.push(torch.zeros(1, 100)).shape[-1] == 1
    assert enc.flush().shape[-1] == 1  # 60 pending samples padded to one frame
    assert enc.flush().shape[-1] == 0
    dec = StreamingDecoder(model)
    assert dec.push(torch.zeros(1, 4, 0, dtype=torch.long)).shape == (1, 1, 0)


def test_out_of_range_and_float_codes_are_rejected() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="out of range"):
        model.decode(torch.tensor([[[0], [1], [-1], [2]]]))
    with pytest.raises(ValueError, match="integers"):
        model.decode(torch.zeros(1, 4, 2))
    with pytest.raises(ValueError, match="expected 1..4"):
        model.decode(torch.zeros(1, 5, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="num_codebooks must be in"):
        model.set_num_codebooks(9)
