"""`antiphon bench chinese`: character error rate of a Chinese round trip — text spoken by
the cascade's Chinese TTS, recognised by its Chinese ASR (Whisper base)."""

from __future__ import annotations

import argparse
import re
import time

import jiwer

from antiphon.audio.io import resample
from antiphon.cascade.stack import CascadeStack
from antiphon.session.commands import SpeakingStyle

SENTENCES = [
    "法国的首都是巴黎。",
    "今天天气很好。",
    "我会说慢一点。",
    "请稍等，我查一下。",
    "厨房的灯已经打开了。",
    "现在是下午三点十五分。",
    "你好，很高兴认识你。",
    "我们明天早上八点出发。",
]


def _chars(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def roundtrip_cer(stack: CascadeStack) -> tuple[float, list[tuple[str, str]]]:
    pairs = []
    for ref in SENTENCES:
        audio = resample(stack.synthesize(ref, SpeakingStyle()), stack.tts_rate, 16000)
        pairs.append((ref, stack.transcribe(audio)))
    cer = jiwer.cer([_chars(r) for r, _ in pairs], [_chars(h) or "∅" for _, h in pairs])
    return float(cer), pairs


def main(args: argparse.Namespace) -> int:
    from antiphon.apps.factory import load_stack

    args.language = "zh"
    stack = load_stack(args)
    t0 = time.monotonic()
    cer, pairs = roundtrip_cer(stack)
    for ref, hyp in pairs:
        print(f"  {ref}  →  {hyp}")
    print(
        f"Chinese round trip ({type(stack.tts).__name__} → Whisper base): "
        f"CER {cer:.3f} over {len(pairs)} sentences, {time.monotonic() - t0:.1f} s"
    )
    return 0
