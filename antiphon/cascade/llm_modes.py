"""How ChatLLM samples the next tokens of a reply: text, a tool call under the tools'
grammar, or text with calls ruled out (tool_choice none)."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from typing import Any

from antiphon.session.commands import ForcedTool, Tool, ToolChoice

CancelCheck = threading.Event | Callable[[], bool] | None


def is_cancelled(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Mode(enum.Enum):
    """How the next tokens are sampled."""

    FREE = "free"  # text, or a call if the model opens one (tool_choice auto)
    CALL = "call"  # inside <tool_call>: the call's JSON under the tools' grammar
    FIRST_TEXT = "first_text"  # tool_choice none: the first token must be speech
    TEXT = "text"  # speech; the token that opens a call is banned


def first_mode(tool_choice: ToolChoice) -> Mode:
    if isinstance(tool_choice, ForcedTool) or tool_choice == "required":
        return Mode.CALL
    return Mode.FIRST_TEXT if tool_choice == "none" else Mode.FREE


def callable_tools(tools: Sequence[Tool], tool_choice: ToolChoice) -> list[Tool]:
    """The tools the model may call: all declared ones, or the one ``tool_choice`` names."""
    if not isinstance(tool_choice, ForcedTool):
        return list(tools)
    named = [t for t in tools if t.name == tool_choice.name]
    if not named:
        raise ValueError(
            f"tool_choice names {tool_choice.name!r}, which is not a declared tool "
            f"(declared: {', '.join(t.name for t in tools) or 'none'})"
        )
    return named


def ban_tokens(token_ids: Sequence[int]) -> list[Callable[[Any, Any], Any]]:
    """A llama-cpp logits processor that rules out ``token_ids``."""
    import numpy as np

    banned = np.asarray(token_ids, dtype=np.intp)

    def ban(_input_ids: Any, scores: Any) -> Any:
        scores[banned] = -np.inf
        return scores

    return [ban]


class SpeechBans:
    """Tokens a spoken reply may not write. Everything it writes is read aloud, yet when the
    judge has ruled a call out, the 1.5B sometimes writes the call anyway as text: "Sure, I
    can help with that. <tools></tools>{"name": "add_to_shopping_list", ...}" (bench quality
    through the server, 2026-12-07). Markup and JSON are not speech: in TEXT and FIRST_TEXT
    no token containing "<" or "{" can be sampled (the model must say it in words), in FREE
    no "<" but the token that opens a call. Special tokens (the turn's end) have no text and
    stay allowed. ~1,000 of Qwen's 151,936 tokens. ``vocab``: each token's text."""

    def __init__(self, vocab: Sequence[bytes], call_open: int) -> None:
        angle = [i for i, text in enumerate(vocab) if b"<" in text]
        brace = [i for i, text in enumerate(vocab) if b"{" in text]
        self._text = sorted({*angle, *brace, *([call_open] if call_open >= 0 else [])})
        self._free = [i for i in angle if i != call_open]

    def for_mode(self, mode: Mode) -> list[int]:
        if mode is Mode.CALL:
            return []
        return self._free if mode is Mode.FREE else self._text
