"""Qwen2.5-style function calling: the ``# Tools`` system section and a streaming parser.

The section's frame (header, the call format) follows Qwen2.5's own chat template
(tokenizer_config.json) byte for byte, so the model sees the format it was fine-tuned on;
the tools inside it are one-line signatures by default (agent/tool_signatures.py: half
the prompt tokens, the calls scored alike) or, as the template prints them, JSON. The
parser runs on the LLM's streamed text and splits it into speakable text and
``<tool_call>{json}</tool_call>`` blocks; the markup never reaches the TTS, even when a
tag is split across chunk boundaries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from antiphon.agent.tool_signatures import signature
from antiphon.session.commands import Tool

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

_TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def _new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class ToolCallRequest:
    name: str
    arguments_json: str  # a JSON object, compact
    call_id: str = field(default_factory=_new_call_id)

    @property
    def arguments(self) -> dict[str, Any]:
        value = json.loads(self.arguments_json)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class MalformedToolCall:
    raw: str
    error: str


ParsedPiece = str | ToolCallRequest | MalformedToolCall


def tool_json(tool: Tool) -> str:
    """One tool as Qwen's template prints it (``tool | tojson``, Chat Completions shape)."""
    body = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return json.dumps({"type": "function", "function": body}, ensure_ascii=False)


class ToolListing(Enum):
    SIGNATURES = "signatures"  # one line a tool (agent/tool_signatures.py): the default
    JSON = "json"  # each tool's whole schema, exactly as Qwen2.5's template prints it


def tools_system_section(
    tools: Sequence[Tool], listing: ToolListing = ToolListing.SIGNATURES
) -> str:
    """The text appended (after a blank line) to the system message when tools exist."""
    line = tool_json if listing is ToolListing.JSON else signature
    return _TOOLS_HEADER + "".join("\n" + line(t) for t in tools) + _TOOLS_FOOTER


def system_with_tools(
    system: str, tools: Sequence[Tool], listing: ToolListing = ToolListing.SIGNATURES
) -> str:
    return f"{system}\n\n{tools_system_section(tools, listing)}" if tools else system


def render_tool_call(name: str, arguments_json: str) -> str:
    """An assistant tool call as the template renders it in history."""
    try:
        args = json.dumps(json.loads(arguments_json or "{}"), ensure_ascii=False)
    except json.JSONDecodeError:
        args = arguments_json
    return f'<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>'


TOOL_CALL_HEAD_END = '"arguments":'


def tool_call_head_grammar(tools: Sequence[Tool]) -> str:
    """GBNF for the start of the JSON inside ``<tool_call>``, up to ``"arguments":``, with
    the name restricted to the declared tools (unconstrained, Qwen 0.5B invents names like
    ``turn_on_lights``). Only the head is constrained: llama.cpp checks a grammar against
    the whole vocabulary on every token (~0.25 s per token on a busy 2-core CPU), and the
    arguments are validated by the ToolRegistry anyway."""
    names = " | ".join(json.dumps(json.dumps(t.name)) for t in tools)
    return (
        'root ::= "\\n"? "{" space "\\"name\\"" space ":" space name "," space '
        '"\\"arguments\\"" space ":"\n'
        f"name ::= {names}\n"
        'space ::= " "?\n'
    )


def parse_tool_call(raw: str) -> ToolCallRequest | MalformedToolCall:
    """Parse the JSON inside one ``<tool_call>`` block."""
    text = raw.strip()
    if text.startswith("```"):  # a model sometimes fences the JSON
        text = text.strip("`").removeprefix("json").strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return MalformedToolCall(raw, f"tool call is not valid JSON: {exc.msg} at char {exc.pos}")
    if not isinstance(obj, dict):
        return MalformedToolCall(raw, "tool call must be a JSON object with 'name' and 'arguments'")
    if "function" in obj and isinstance(obj["function"], dict):  # OpenAI-shaped output
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return MalformedToolCall(raw, "tool call has no 'name'")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # arguments given as a JSON string
        try:
            args = json.loads(args or "{}")
        except json.JSONDecodeError as exc:
            return MalformedToolCall(raw, f"tool call arguments are not valid JSON: {exc.msg}")
    if not isinstance(args, dict):
        return MalformedToolCall(
            raw, f"tool call 'arguments' must be an object; got {json.dumps(args)}"
        )
    return ToolCallRequest(name.strip(), json.dumps(args, ensure_ascii=False))


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ToolCallParser:
    """Incremental splitter of streamed LLM text into spoken text and tool calls.

    ``feed`` returns what is certain so far; text that might be the start of a tag is held
    back until the next piece decides it. ``finish`` flushes at the end of the stream; an
    unterminated block is still parsed (the model may stop right after the JSON).

    A response that *starts* with a bare JSON object (``{"name": ...}``, some small models
    drop the tags) is held until the end and then parsed as a call if it looks like one.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._in_call = False
        self._started = False  # any non-space text seen yet
        self._bare_json = False
        self.calls: list[ToolCallRequest] = []
        self.errors: list[MalformedToolCall] = []
        self.text = ""  # all spoken text so far

    @property
    def calling(self) -> bool:
        """A tool call has begun and is not complete yet."""
        return self._in_call or self._bare_json

    def feed(self, piece: str) -> list[ParsedPiece]:
        self._buf += piece
        out: list[ParsedPiece] = []
        if not self._started:
            stripped = self._buf.lstrip()
            if not stripped:
                return out
            self._started = True
            self._bare_json = stripped.startswith("{") or stripped.startswith("```json")
        if self._bare_json:
            return out
        while True:
            if self._in_call:
                end = self._buf.find(TOOL_CALL_CLOSE)
                if end < 0:
                    return out
                out.append(self._record(parse_tool_call(self._buf[:end])))
                self._buf = self._buf[end + len(TOOL_CALL_CLOSE) :]
                self._in_call = False
                continue
            start = self._buf.find(TOOL_CALL_OPEN)
            if start >= 0:
                self._emit_text(self._buf[:start], out)
                self._buf = self._buf[start + len(TOOL_CALL_OPEN) :]
                self._in_call = True
                continue
            hold = _partial_suffix(self._buf, TOOL_CALL_OPEN)
            self._emit_text(self._buf[: len(self._buf) - hold], out)
            self._buf = self._buf[len(self._buf) - hold :]
            return out

    def finish(self) -> list[ParsedPiece]:
        out: list[ParsedPiece] = []
        rest, self._buf = self._buf, ""
        if self._bare_json:
            self._bare_json = False
            parsed = parse_tool_call(rest)
            if isinstance(parsed, ToolCallRequest):
                out.append(self._record(parsed))
            else:
                self._emit_text(rest, out)
        elif self._in_call:
            self._in_call = False
            out.append(self._record(parse_tool_call(rest)))
        else:
            self._emit_text(rest, out)
        return out

    def _emit_text(self, text: str, out: list[ParsedPiece]) -> None:
        if text:
            self.text += text
            out.append(text)

    def _record(
        self, parsed: ToolCallRequest | MalformedToolCall
    ) -> ToolCallRequest | MalformedToolCall:
        if isinstance(parsed, ToolCallRequest):
            self.calls.append(parsed)
        else:
            self.errors.append(parsed)
        return parsed


def split_stream(pieces: Iterable[str]) -> Iterator[ParsedPiece]:
    """Convenience: run a whole stream of text pieces through a ToolCallParser."""
    parser = ToolCallParser()
    for piece in pieces:
        yield from parser.feed(piece)
    yield from parser.finish()
