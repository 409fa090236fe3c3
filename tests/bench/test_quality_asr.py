"""The recognizer choice of issue 14 item 3: live partials and the final decode can run
on different Whisper models (tiny.en partials, base finals), with beam search for finals."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.bench.duplex.voices import synthesize
from antiphon.bench.quality.asr_study import human_wer
from antiphon.bench.quality.human import recordings
from antiphon.cascade.asr import RECOGNIZERS, StreamingASR


def test_partials_on_tiny_final_on_base() -> None:
    asr = StreamingASR(recognizer="tiny.en+base", beam_size=2)
    assert asr._quick_model is not asr._model
    assert not asr._quick_model.model.is_multilingual and asr._model.model.is_multilingual
    used: list[tuple[bool, int]] = []
    for decoder in (asr._short, asr._quick_short):
        assert decoder is not None
        real = decoder.decode

        def spy(*a, _real=real, _multi=decoder.model.model.is_multilingual, **kw):  # type: ignore[no-untyped-def]
            used.append((_multi, kw.get("beam_size", 1)))
            return _real(*a, **kw)

        decoder.decode = spy  # type: ignore[method-assign]
    audio = synthesize("What is the capital of France?", "flite:slt")
    assert "france" in asr.transcribe(audio).lower()
    assert used[0] == (True, 2)  # the final: base, beam 2
    used.clear()
    assert "france" in asr.transcribe(audio, quick=True).lower()
    assert used == [(False, 1)]  # a partial: tiny.en, greedy


def test_unknown_recognizer() -> None:
    with pytest.raises(ValueError, match="unknown recognizer 'large'"):
        StreamingASR(recognizer="large")
    assert {"tiny.en", "base", "tiny.en+base"} <= set(RECOGNIZERS)


def test_human_recordings_have_transcripts_and_are_recognized() -> None:
    recs = recordings("all")
    sources = {r.source for r in recs}
    assert {"librivox", "asterisk", "arctic"} <= sources, "make setup installs these"
    assert len({r.id for r in recs}) == len(recs)
    tune, test = recordings("tune"), recordings("test")
    assert not {r.id for r in tune} & {r.id for r in test}
    asr = StreamingASR()
    some = {r.id for r in test if r.source in ("arctic", "librivox")}
    figures = human_wer(
        lambda audio: asr.transcribe(audio) if len(audio) else "", "test", only=some
    )
    assert figures["all human"]["clips"] == len(some) and figures["all human"]["wer"] < 0.3
    assert np.isfinite(figures["all human"]["wer"])


def test_base_final_decodes_a_spoken_request_once() -> None:
    """A base final is not decoded a second time on the full window under 6 s (no fewer
    errors there on the tune half), but a longer utterance still is when unsure."""
    asr = StreamingASR(recognizer="tiny.en+base", short_min_logprob=0.0)  # always unsure
    assert asr._short is not None
    fulls: list[bool] = []
    real = asr._short.decode

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        fulls.append(kw.get("full", False))
        return real(*a, **kw)

    asr._short.decode = spy  # type: ignore[method-assign]
    short = synthesize("What is the capital of France?", "flite:slt")
    asr.transcribe(short)
    assert fulls == [False]
    fulls.clear()
    gap = np.zeros(8000, np.float32)
    long = np.concatenate([short, gap, short, gap, short, gap, short])
    assert len(long) > 6 * 16000
    asr.transcribe(long)
    assert fulls == [False, True]
