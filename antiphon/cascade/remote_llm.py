"""The LLM stage as any OpenAI-compatible streaming chat endpoint (`--llm-url`): vLLM,
SGLang, llama.cpp's server, llama-cpp-python's server, Ollama.

Same interface as ChatLLM: ``stream(messages, tools, cancel, ...)`` yields text pieces,
and a tool call comes out as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
text, so the responder's ToolCallParser works unchanged whichever engine answers.
Synchronous like ChatLLM (it runs on the LLM worker's thread); ``cancel`` is checked after
every streamed chunk and closes the HTTP stream, which makes the engine stop generating.

A down or slow endpoint raises RemoteLLMError with a specific code (``llm_unavailable``,
``llm_timeout``, ``llm_error``); the responder turns it into an error event and the
session lives on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from antiphon.agent.chatml import DEFAULT_SYSTEM, Message
from antiphon.agent.toolcall import TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from antiphon.session.commands import ForcedTool, Tool

CancelCheck = threading.Event | Callable[[], bool] | None


class RemoteLLMError(RuntimeError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _CallParts:
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _cancelled(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Our messages in the Chat Completions shape (tool calls and results included)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": m.content or None,
                    "tool_calls": [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments_json},
                        }
                        for c in m.tool_calls
                    ],
                }
            )
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def openai_tools(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def openai_tool_choice(choice: str | ForcedTool) -> str | dict[str, Any]:
    if isinstance(choice, ForcedTool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def tool_call_text(name: str, arguments: str) -> str:
    """A streamed call in the markup ToolCallParser reads (arguments kept as sent: a
    malformed JSON reaches the parser, which reports it)."""
    args = arguments.strip() or "{}"
    return (
        f'{TOOL_CALL_OPEN}\n{{"name": {json.dumps(name)}, "arguments": {args}}}\n{TOOL_CALL_CLOSE}'
    )


class RemoteChatLLM:
    """A chat model behind ``{base_url}/chat/completions`` (base_url ends in ``/v1``)."""

    family = "qwen"  # only used to pick a default system prompt
    default_system = DEFAULT_SYSTEM["qwen"]

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        api_key: str | None = None,
        connect_timeout_s: float = 3.0,
        idle_timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # read: the longest wait for the next streamed chunk (first token included)
        timeout = httpx.Timeout(
            connect=connect_timeout_s, read=idle_timeout_s, write=10.0, pool=5.0
        )
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self.last_first_token_s = 0.0

    def close(self) -> None:
        self._client.close()

    def warmup(self, system: str | None = None, tools: Sequence[Tool] = ()) -> None:
        """One token with the system prompt, so an engine with prefix caching holds it and
        a dead endpoint is reported at start-up rather than on the first question."""
        msgs = [Message("system", system or self.default_system), Message("user", "Hi")]
        for _ in self.stream(msgs, tools, max_tokens=1, tool_choice="none"):
            pass

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        cancel: CancelCheck = None,
        max_tokens: int = 200,
        temperature: float = 0.3,
        tool_choice: str | ForcedTool = "auto",
    ) -> Iterator[str]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": openai_messages(messages),
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if tools:
            body["tools"] = openai_tools(tools)
            body["tool_choice"] = openai_tool_choice(tool_choice)
        url = f"{self.base_url}/chat/completions"
        t0 = time.perf_counter()
        calls: dict[int, _CallParts] = {}
        try:
            with self._client.stream("POST", url, json=body) as resp:
                if resp.status_code >= 400:
                    detail = resp.read().decode("utf-8", "replace")[:300]
                    raise RemoteLLMError(
                        "llm_error", f"the LLM endpoint {url} answered {resp.status_code}: {detail}"
                    )
                for line in resp.iter_lines():
                    if _cancelled(cancel):
                        return  # leaving the with-block closes the stream: the engine stops
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    for piece in self._pieces(json.loads(data), calls):
                        if not self.last_first_token_s:
                            self.last_first_token_s = time.perf_counter() - t0
                        yield piece
        except httpx.ConnectError as exc:
            raise RemoteLLMError(
                "llm_unavailable", f"the LLM endpoint {url} cannot be reached: {exc}"
            ) from exc
        except httpx.TimeoutException as exc:
            raise RemoteLLMError(
                "llm_timeout",
                f"the LLM endpoint {url} did not answer in time ({type(exc).__name__})",
            ) from exc
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise RemoteLLMError("llm_error", f"the LLM endpoint {url} failed: {exc}") from exc
        for index in sorted(calls):
            call = calls[index]
            yield tool_call_text(call.name, "".join(call.arguments))

    @staticmethod
    def _pieces(chunk: dict[str, Any], calls: dict[int, _CallParts]) -> Iterator[str]:
        """Text of one streamed chunk; tool-call deltas are collected until the end."""
        if "error" in chunk:
            raise RemoteLLMError("llm_error", f"the LLM endpoint reported: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            for tc in delta.get("tool_calls") or []:
                parts = calls.setdefault(int(tc.get("index", 0)), _CallParts())
                fn = tc.get("function") or {}
                if fn.get("name") and not parts.name:  # some engines repeat it in every chunk
                    parts.name = str(fn["name"])
                parts.arguments.append(fn.get("arguments") or "")
            if delta.get("content"):
                yield str(delta["content"])
