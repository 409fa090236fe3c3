"""Is an overlapping utterance a backchannel, or the agent's own echo, rather than a real
interruption? Decided from its transcript."""

from __future__ import annotations

import re

BACKCHANNELS = frozenset(
    [
        "uh-huh",
        "uh",
        "huh",
        "mm-hmm",
        "mm",
        "hmm",
        "mhm",
        "hm",
        "hmm",
        "mmm",
        "yeah",
        "yes",
        "yep",
        "yup",
        "ok",
        "okay",
        "right",
        "sure",
        "alright",
        "all",
        "i",
        "see",
        "wow",
        "oh",
        "ah",
        "aha",
        "really",
        "true",
        "cool",
        "nice",
        "great",
        "got",
        "it",
        "gotcha",
        "indeed",
        "嗯",
        "嗯嗯",
        "对",
        "是",
        "好",
        "哦",
        "啊",
        "对对",
        "是的",
        "好的",
        "明白",
    ]
)

_WORD = re.compile(r"[\w'-]+|[\u4e00-\u9fff]", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.strip("-'").lower() for w in _WORD.findall(text) if w.strip("-'")]


def is_backchannel(text: str, max_words: int = 3) -> bool:
    """Empty text (a noise) or only backchannel words, and short."""
    ws = words(text)
    return len(ws) <= max_words and all(w in BACKCHANNELS for w in ws)


# Words with which a listener takes the floor, even in a short burst ("Stop!", "Wait,",
# "No,", "Sorry—", "What?"); for Chinese, characters ("等一下", "停", "不对", "为什么").
FLOOR_WORDS = frozenset(
    [
        *[
            "stop",
            "wait",
            "no",
            "hold",
            "hang",
            "sorry",
            "excuse",
            "pardon",
            "actually",
            "but",
            "hey",
        ],
        *[
            "what",
            "why",
            "how",
            "who",
            "where",
            "when",
            "which",
            "can",
            "could",
            "would",
            "tell",
            "please",
            "listen",
        ],
    ]
)
FLOOR_CHARS = frozenset("等停不别为什怎")


def asks_for_floor(text: str) -> bool:
    return any(w in FLOOR_WORDS for w in words(text)) or any(c in FLOOR_CHARS for c in text)


def echo_similarity(heard: str, agent_said: str) -> float:
    """Share of the heard words that occur in what the agent said recently (0..1)."""
    hw = words(heard)
    if not hw:
        return 0.0
    said = set(words(agent_said))
    return sum(w in said for w in hw) / len(hw)
