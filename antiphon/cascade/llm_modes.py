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


def ban_token(token_id: int) -> list[Callable[[Any, Any], Any]]:
    """A llama-cpp logits processor that rules out one token."""

    def ban(_input_ids: Any, scores: Any) -> Any:
        scores[token_id] = -float("inf")
        return scores

    return [ban]
