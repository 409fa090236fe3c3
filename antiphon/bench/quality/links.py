"""The backends `bench quality` talks to, built on bench duplex's links: the same session
or the same Realtime client, plus what this bench reads (the user transcript, the agent's
words, tool calls) and what it sends (declared tools, function-call outputs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from antiphon.audio.io import resample
from antiphon.bench.duplex.link import RATE, Ended, Heard, Incoming, Note, SessionLink
from antiphon.bench.duplex.link_realtime import RealtimeLink
from antiphon.session.commands import Configure, Tool, ToolResult
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Metrics,
    ResponseDone,
    ToolCall,
    UserTranscriptFinal,
)
from antiphon.session.session import Session


@dataclass
class UserText:
    text: str  # the final transcript of a user turn


@dataclass
class AgentText:
    response_id: str
    text: str  # the agent's words in one response (final)


@dataclass
class CallMade:
    response_id: str
    call_id: str
    name: str
    arguments: str


@dataclass
class Stages:
    """The server's own latency breakdown of one response (ms after the end of speech it
    detected): antiphon's Metrics event in process, ``x.antiphon.metrics`` over the wire
    (sent when the URL asks for it: ``?x_antiphon=1``)."""

    response_id: str
    values: dict[str, float]


QualityIncoming = Incoming | UserText | AgentText | CallMade | Stages


class QualityLink(Protocol):
    """What the quality driver needs from a backend."""

    name: str

    async def open(self, tools: list[dict[str, Any]]) -> None: ...

    async def send(self, frame: Any) -> None: ...

    def poll(self) -> list[QualityIncoming]: ...

    async def answer(self, call_id: str, output: str) -> None: ...

    async def close(self) -> None: ...


class QualitySessionLink(SessionLink):
    """A cascade session in this process (bench duplex's SessionLink), with declared tools."""

    async def open(self, tools: list[dict[str, Any]]) -> None:  # type: ignore[override]
        await super().open()
        assert self._session is not None
        declared = tuple(Tool(t["name"], t.get("description", ""), t["parameters"]) for t in tools)
        await self._session.send(Configure(tools=declared, tool_choice="auto"))

    def poll(self) -> list[QualityIncoming]:  # type: ignore[override]
        assert self._session is not None
        out: list[QualityIncoming] = []
        while (ev := self._session.next_event_nowait()) is not None:
            if isinstance(ev, AudioChunk):
                out.append(Heard(ev.response_id, resample(ev.audio, ev.sample_rate, RATE)))
            elif isinstance(ev, ResponseDone):
                out += [AgentText(ev.response_id, ev.text), Ended(ev.response_id, ev.status)]
            elif isinstance(ev, UserTranscriptFinal):
                out.append(UserText(ev.text))
            elif isinstance(ev, ToolCall):
                out.append(CallMade(ev.response_id, ev.call_id, ev.name, ev.arguments))
            elif isinstance(ev, Metrics):
                out.append(Stages(ev.response_id, dict(ev.values)))
            elif isinstance(ev, AgentTextDelta):
                pass  # the final text comes with ResponseDone
            elif isinstance(ev, ErrorEvent):
                out.append(Note(f"error {ev.code}: {ev.message}"))
        return out

    async def answer(self, call_id: str, output: str) -> None:
        assert self._session is not None
        await self._session.send(ToolResult(call_id, output, respond=True))


def cascade_quality_link(stack: object, language: str = "en") -> QualitySessionLink:
    """A fresh in-process cascade session in real time (as bench duplex's cascade_link)."""
    from antiphon.apps.factory import new_session
    from antiphon.bench.duplex.link import LEAD_MS
    from antiphon.session.clock import RealClock

    def make() -> Session:
        return new_session(
            stack,  # type: ignore[arg-type]
            clock=RealClock(),
            output_rate=RATE,
            lead_ms=LEAD_MS,
        )

    return QualitySessionLink(make)


class QualityRealtimeLink(RealtimeLink):
    """Any OpenAI-Realtime server (bench duplex's RealtimeLink), with tools declared in
    session.update, input transcription on, and function calls answered by the bench."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        super().__init__(url, api_key)
        self._tools: list[dict[str, Any]] = []

    async def open(self, tools: list[dict[str, Any]]) -> None:  # type: ignore[override]
        await super().open()
        session = {
            "type": "realtime",
            "tools": tools,
            "tool_choice": "auto",
            "audio": {"input": {"transcription": {"model": "whisper-1"}}},
        }
        await self._ws.send(json.dumps({"type": "session.update", "session": session}))

    def _put(self, item: QualityIncoming) -> None:
        # one inbox, so a call is seen before the response.done that ends its response
        self._inbox.append(item)  # type: ignore[arg-type]

    def _on(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type", "")
        rid = str(ev.get("response_id", ""))
        if kind == "conversation.item.input_audio_transcription.completed":
            self._put(UserText(str(ev.get("transcript", ""))))
        elif kind in ("response.output_audio_transcript.done", "response.audio_transcript.done"):
            self._put(AgentText(rid, str(ev.get("transcript", ""))))
        elif kind == "response.output_text.done":
            self._put(AgentText(rid, str(ev.get("text", ""))))
        elif kind == "response.function_call_arguments.done":
            name, args = str(ev.get("name", "")), str(ev.get("arguments", ""))
            self._put(CallMade(rid, str(ev.get("call_id", "")), name, args))
        elif kind == "x.antiphon.metrics":
            values = ev.get("values") or {}
            self._put(Stages(rid, {k: float(v) for k, v in values.items()}))
        super()._on(ev)

    def poll(self) -> list[QualityIncoming]:  # type: ignore[override]
        return list(super().poll())

    async def answer(self, call_id: str, output: str) -> None:
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        await self._ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await self._ws.send(json.dumps({"type": "response.create"}))


LinkFactory = Callable[[], QualityLink]
