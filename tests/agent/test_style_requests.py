"""Spoken style requests → SpeakingStyle."""

from __future__ import annotations

import pytest

from antiphon.agent.style_requests import acknowledgement, detect_style_request
from antiphon.session.commands import SpeakingStyle

BASE = SpeakingStyle()


@pytest.mark.parametrize(
    ("text", "speed", "volume", "pitch"),
    [
        ("Speak slower, please.", 0.8, 1.0, 0.0),
        ("Could you slow down a bit?", 0.8, 1.0, 0.0),
        ("Can you talk faster?", 1.25, 1.0, 0.0),
        ("Louder please", 1.0, 1.6, 0.0),
        ("I can't hear you", 1.0, 1.6, 0.0),
        ("Quieter, please.", 1.0, 0.625, 0.0),
        ("softer please", 1.0, 0.625, 0.0),
        ("Please lower your voice.", 1.0, 0.625, 0.0),
        ("Use a higher voice.", 1.0, 1.0, 3.0),
        ("Can you speak in a deeper voice?", 1.0, 1.0, -3.0),
        ("Slower and louder please", 0.8, 1.6, 0.0),
        ("说慢一点", 0.8, 1.0, 0.0),
        ("你能说快一点吗？", 1.25, 1.0, 0.0),
        ("大声一点", 1.0, 1.6, 0.0),
        ("小声一点", 1.0, 0.625, 0.0),
        ("太大声了", 1.0, 0.625, 0.0),
        ("声音低沉一点", 1.0, 1.0, -3.0),
    ],
)
def test_requests(text: str, speed: float, volume: float, pitch: float) -> None:
    style = detect_style_request(text, BASE)
    assert style is not None, text
    assert style.speed == pytest.approx(speed)
    assert style.volume == pytest.approx(volume)
    assert style.pitch == pytest.approx(pitch)


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "The economy will slow down next year according to the bank.",
        "Which car is faster, the red one or the blue one in the garage?",
        "Turn on the lights in the kitchen",
        "Can you turn up the lights in the living room?",
        "今天天气怎么样？",
        "",
    ],
)
def test_not_requests(text: str) -> None:
    assert detect_style_request(text, BASE) is None


def test_relative_to_current_and_clamped() -> None:
    current = SpeakingStyle(speed=0.6, volume=2.5, pitch=5.0)
    style = detect_style_request("slower, louder, higher voice", current)
    assert style == SpeakingStyle(speed=0.5, volume=3.0, pitch=6.0)
    assert detect_style_request("speak normally", current) == SpeakingStyle()


def test_acknowledgement() -> None:
    assert acknowledgement("slower please") == "Okay, I'll speak slower."
    assert acknowledgement("大声一点", "zh") == "好的，我会大声一点。"
    assert acknowledgement("hello") is None
