"""Spoken requests to change the speaking style ("slower please", "大声一点").

Rules, not the LLM: a style request must take effect on the very next phrase, and a regex
is instant and predictable. To avoid false positives ("the economy will slow down next
year"), a cue counts only when the utterance is short or mentions speaking/voice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from antiphon.session.commands import SpeakingStyle

SPEED_STEP = 0.8  # × per "slower"; "faster" divides
VOLUME_STEP = 1.6  # × per "louder"; "quieter" divides
PITCH_STEP = 3.0  # semitones per "higher"/"lower"


@dataclass(frozen=True)
class _Cue:
    pattern: re.Pattern[str]
    field: str  # speed | volume | pitch | reset
    direction: int  # +1 / -1 (0 for reset)


def _en(pattern: str, field: str, direction: int) -> _Cue:
    return _Cue(re.compile(pattern, re.I), field, direction)


# Order matters: a cue consumes its match, so "lower your voice" (= quieter) is matched
# before the generic "lower voice" (= pitch), and 太大声 (too loud) before 大声 (loud).
_CUES: tuple[_Cue, ...] = (
    _en(
        r"\b(speak|talk)\s+normally\b|\bnormal\s+(voice|speed|volume)\b|\breset\s+(your\s+)?voice\b",
        "reset",
        0,
    ),
    _en(
        r"\blower\s+your\s+voice\b|\b(quieter|softer|more\s+quietly|more\s+softly)\b|\bnot\s+so\s+loud\b|\btoo\s+loud\b",
        "volume",
        -1,
    ),
    _en(
        r"\braise\s+your\s+voice\b|\b(louder|more\s+loudly|speak\s+up)\b|\bcan'?t\s+hear\s+you\b|\btoo\s+quiet\b",
        "volume",
        +1,
    ),
    _en(r"\b(slower|more\s+slowly|slow\s+down)\b|\b(too|so)\s+fast\b", "speed", -1),
    _en(r"\b(faster|more\s+quickly|speed\s+up)\b|\b(too|so)\s+slow(ly)?\b", "speed", +1),
    _en(
        r"\b(higher|high)[\s-]+(pitched\s+)?(voice|pitch|tone)\b|\b(raise|increase)\s+(your\s+|the\s+)?pitch\b|\bpitch\s+(it\s+)?up\b",
        "pitch",
        +1,
    ),
    _en(
        r"\b(lower|low|deeper|deep)[\s-]+(pitched\s+)?(voice|pitch|tone)\b|\b(lower|decrease)\s+(your\s+|the\s+)?pitch\b|\bpitch\s+(it\s+)?down\b",
        "pitch",
        -1,
    ),
    # Chinese
    _en(r"正常(的)?(语速|声音|音量)|恢复正常", "reset", 0),
    _en(r"慢(一)?点|慢一些|说慢|讲慢|放慢|太快了", "speed", -1),
    _en(r"快(一)?点|快一些|说快|讲快|加快|太慢了", "speed", +1),
    _en(r"小(一)?点声|(?<!太)小声|声音小一?点|轻一点|轻声|太大声|太吵", "volume", -1),
    _en(r"大(一)?点声|(?<!太)大声|声音大一?点|响一点|听不清|太小声", "volume", +1),
    _en(r"(音调|声调|声音)(高|尖)|高一点的声音|音调提高", "pitch", +1),
    _en(r"(音调|声调|声音)(低|沉)|低沉|低一点的声音|音调降低", "pitch", -1),
)

_SPEECH_CONTEXT = re.compile(
    r"\b(speak|speaking|talk|talking|say|saying|read|voice|pitch|tone|hear|volume)\b|说|讲|声|语速|音",
    re.I,
)
_FILLER = re.compile(
    r"\b(please|can|could|would|you|will|a|bit|little|lot|much|just|more|and|also|and|hey|ok|okay|now)\b",
    re.I,
)
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class StyleChange:
    field: str
    direction: int


def _is_short(text: str) -> bool:
    words = _FILLER.sub(" ", text).split()
    cjk = len(_CJK.findall(text))
    return cjk <= 10 if cjk else len(words) <= 4


def find_style_changes(transcript: str) -> list[StyleChange]:
    """The style changes asked for, in order; empty when the utterance is not a request."""
    text = transcript.strip()
    if not text:
        return []
    changes: list[StyleChange] = []
    rest = text
    for cue in _CUES:
        if cue.pattern.search(rest):
            changes.append(StyleChange(cue.field, cue.direction))
            rest = cue.pattern.sub(" ", rest)
    if not changes:
        return []
    if not (_is_short(text) or _SPEECH_CONTEXT.search(text)):
        return []
    return changes


def apply_changes(current: SpeakingStyle, changes: list[StyleChange]) -> SpeakingStyle:
    style = current
    for change in changes:
        if change.field == "reset":
            style = SpeakingStyle()
        elif change.field == "speed":
            style = replace(style, speed=style.speed * (SPEED_STEP**-change.direction))
        elif change.field == "volume":
            style = replace(style, volume=style.volume * (VOLUME_STEP**change.direction))
        elif change.field == "pitch":
            style = replace(style, pitch=style.pitch + PITCH_STEP * change.direction)
    return style.clamped()


def detect_style_request(transcript: str, current: SpeakingStyle) -> SpeakingStyle | None:
    """A new style relative to ``current``, or None when this is not a style request."""
    changes = find_style_changes(transcript)
    return apply_changes(current, changes) if changes else None


_ACK_EN = {
    ("speed", -1): "slower",
    ("speed", 1): "faster",
    ("volume", 1): "louder",
    ("volume", -1): "more quietly",
    ("pitch", 1): "in a higher voice",
    ("pitch", -1): "in a lower voice",
}
_ACK_ZH = {
    ("speed", -1): "说慢一点",
    ("speed", 1): "说快一点",
    ("volume", 1): "大声一点",
    ("volume", -1): "小声一点",
    ("pitch", 1): "用高一点的声音说",
    ("pitch", -1): "用低一点的声音说",
}


def acknowledgement(transcript: str, language: str = "en") -> str | None:
    """A short spoken confirmation ("Okay, I'll speak slower."), in the new style."""
    changes = find_style_changes(transcript)
    if not changes:
        return None
    zh = language.lower().startswith("zh")
    if any(c.field == "reset" for c in changes):
        return "好的，我用正常的声音说。" if zh else "Okay, back to my normal voice."
    table = _ACK_ZH if zh else _ACK_EN
    parts = [table[(c.field, c.direction)] for c in changes]
    if zh:
        return "好的，我会" + "，".join(parts) + "。"
    return "Okay, I'll speak " + " and ".join(parts) + "."
