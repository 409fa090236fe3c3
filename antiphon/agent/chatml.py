"""ChatML prompts as Qwen2.5's chat template renders them (SmolLM2 uses the same markup).

Rendering is append-only: earlier turns always produce the same text, which is what lets
ChatLLM reuse the KV cache of the previous turn. tests/cascade/test_llm.py checks the output
against the template embedded in the Qwen GGUF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from antiphon.agent.toolcall import (
    ToolCallRequest,
    ToolListing,
    render_tool_call,
    system_with_tools,
)
from antiphon.session.commands import Tool

Role = Literal["system", "user", "assistant", "tool"]

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
# What each model's own chat template uses when no system message is given.
DEFAULT_SYSTEM = {
    "qwen": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "smollm": "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
}


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCallRequest, ...] = ()  # assistant turns that called tools
    tool_call_id: str | None = None  # tool results: which call this answers
    name: str | None = None  # tool results: the tool's name


def render_chatml(
    messages: Sequence[Message],
    tools: Sequence[Tool] = (),
    default_system: str = DEFAULT_SYSTEM["qwen"],
    add_generation_prompt: bool = True,
    tool_listing: ToolListing = ToolListing.SIGNATURES,
) -> str:
    """ChatML as in Qwen2.5's template (SmolLM2 uses the same markup): tools go into the
    system message (``ToolListing.JSON``: byte for byte as the template does), tool results
    into a user turn as ``<tool_response>`` blocks."""
    out: list[str] = []
    msgs = list(messages)
    system = msgs.pop(0).content if msgs and msgs[0].role == "system" else default_system
    out.append(f"{IM_START}system\n{system_with_tools(system, tools, tool_listing)}{IM_END}\n")
    for i, m in enumerate(msgs):
        if m.role == "tool":
            if i == 0 or msgs[i - 1].role != "tool":
                out.append(f"{IM_START}user")
            out.append(f"\n<tool_response>\n{m.content}\n</tool_response>")
            if i == len(msgs) - 1 or msgs[i + 1].role != "tool":
                out.append(f"{IM_END}\n")
        elif m.role == "assistant" and m.tool_calls:
            out.append(f"{IM_START}assistant" + (f"\n{m.content}" if m.content else ""))
            out.extend("\n" + render_tool_call(c.name, c.arguments_json) for c in m.tool_calls)
            out.append(f"{IM_END}\n")
        else:
            out.append(f"{IM_START}{m.role}\n{m.content}{IM_END}\n")
    if add_generation_prompt:
        out.append(f"{IM_START}assistant\n")
    return "".join(out)
