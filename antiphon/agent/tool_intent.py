"""Does an utterance ask for something a declared tool does?

Qwen2.5-0.5B calls tools reliably on a fresh conversation but, once there is history,
answers from imagination instead ("The lights are on." without turning them on). When the
user's words name what a tool is about (the nouns of its name: control_lights → "light",
set_timer → "timer", get_weather → "weather"), the first pass is run with tool_choice
"required", so the model must call one of the declared tools (it still picks which, and
the arguments).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from antiphon.session.commands import Tool

# name parts that say what a tool does, not what it is about
_GENERIC = {"get", "set", "control", "current", "state", "do", "make", "run", "list", "find"}


# "ten times ten", "three times a day": multiplication and frequency, not the clock
_NOT_PLURALS = {"times"}


def _stem(word: str) -> str:
    if word in _NOT_PLURALS:
        return word
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def tool_keywords(tool: Tool) -> set[str]:
    return {_stem(p) for p in tool.name.lower().split("_") if p and p not in _GENERIC}


def mentions_tool(text: str, tools: Sequence[Tool]) -> bool:
    words = {_stem(w) for w in re.findall(r"[a-z]+", text.lower())}
    return any(tool_keywords(t) & words for t in tools)
