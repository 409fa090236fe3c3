"""Session events → Realtime server events, in the order real clients expect.

Stateful: it tracks each response's output items (an assistant message opens lazily on
its first text or audio, so a response that only calls a tool has no empty message), the
user items, the client-side function calls awaiting output, and every item for
`conversation.item.retrieve`."""

from __future__ import annotations

import base64
import uuid
from collections import deque
from typing import Any

from antiphon.server import realtime_events as rt
from antiphon.server.audio_formats import AudioEncoder
from antiphon.server.realtime_config import RealtimeSessionState
from antiphon.server.realtime_items import ItemStore, OpenResponse, ResponseRequest
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Event,
    Metrics,
    ResponseDone,
    ResponseStarted,
    StyleChanged,
    ToolCall,
    ToolResultSpoken,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
    UserTranscriptFinal,
)

Out = dict[str, Any]


class EventTranslator:
    def __init__(self, state: RealtimeSessionState, output_rate: int, extras: bool = False) -> None:
        self.state = state
        self.output_rate = output_rate
        self.extras = extras  # send x.antiphon.* events (the browser UI asks for them)
        self.items = ItemStore()
        self.requests: deque[ResponseRequest] = deque()
        self.responses: dict[str, OpenResponse] = {}
        self.active: str | None = None  # response id whose output is in progress
        self.pending_calls: dict[str, str] = {}  # call_id -> function name
        self._user: dict[str, Out] = {}  # user items not yet done
        self._user_audio_s: dict[str, float] = {}
        self._last_user_text = ""
        self._finished: deque[str] = deque(maxlen=64)  # late events of these are dropped
        self.out_of_band: set[str] = set()  # responses created with conversation "none"
        self.finished_requests: dict[str, ResponseRequest] = {}  # out-of-band, to clean up

    # ---- entry point ------------------------------------------------------------------
    def translate(self, ev: Event) -> list[Out]:
        if getattr(ev, "response_id", None) in self._finished:
            return []
        if isinstance(ev, AudioChunk):
            audio = self.audio_delta(ev)
            return self._detach(audio) if ev.response_id in self.out_of_band else audio
        handler = getattr(self, "_on_" + type(ev).__name__, None)
        out: list[Out] = handler(ev) if handler is not None else []
        return self._detach(out) if getattr(ev, "response_id", None) in self.out_of_band else out

    def _detach(self, events: list[Out]) -> list[Out]:
        """An out-of-band response's items are not part of the conversation."""
        kept = []
        for e in events:
            if e["type"] in ("conversation.item.added", "conversation.item.done"):
                self.items.items.pop(e["item"]["id"], None)
                continue
            kept.append(e)
        return kept

    def over_budget(self, rid: str) -> bool:
        """True once, when a response passes its max_output_tokens."""
        r = self.responses.get(rid)
        limit = r.request.max_output_tokens if r is not None else None
        if r is None or limit is None or r.cut or r.output_tokens() < limit:
            return False
        r.cut = True
        return True

    # ---- user side ----------------------------------------------------------------------
    def _on_UserSpeechStarted(self, ev: UserSpeechStarted) -> list[Out]:
        self._user_audio_s[ev.item_id] = ev.audio_ms / 1000.0
        return [
            rt.event(
                "input_audio_buffer.speech_started", audio_start_ms=ev.audio_ms, item_id=ev.item_id
            )
        ]

    def _on_UserSpeechStopped(self, ev: UserSpeechStopped) -> list[Out]:
        start = self._user_audio_s.get(ev.item_id, ev.audio_ms / 1000.0)
        self._user_audio_s[ev.item_id] = max(0.0, ev.audio_ms / 1000.0 - start)
        out = [
            rt.event(
                "input_audio_buffer.speech_stopped", audio_end_ms=ev.audio_ms, item_id=ev.item_id
            )
        ]
        return out + self._commit_user(ev.item_id)

    def _commit_user(self, item_id: str) -> list[Out]:
        item = rt.user_audio_item(item_id, None)
        self._user[item_id] = item
        prev = self.items.put(item)
        return [
            rt.event("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev),
            rt.event("conversation.item.added", previous_item_id=prev, item=item),
        ]

    def commit_silence(self, item_id: str) -> list[Out]:
        """An idle timeout's empty user turn: committed, added and done at once."""
        return self._commit_user(item_id) + self._on_UserTranscriptFinal(
            UserTranscriptFinal(item_id, "")
        )

    def _on_UserTranscriptDelta(self, ev: UserTranscriptDelta) -> list[Out]:
        return [
            rt.event(
                "conversation.item.input_audio_transcription.delta",
                item_id=ev.item_id,
                content_index=0,
                delta=ev.text,
            )
        ]

    def _on_UserTranscriptFinal(self, ev: UserTranscriptFinal) -> list[Out]:
        out = [] if ev.item_id in self._user else self._commit_user(ev.item_id)  # manual commit
        item = self._user.pop(ev.item_id)
        item["content"][0]["transcript"] = ev.text
        self.items.put(item)
        self._last_user_text = ev.text
        seconds = self._user_audio_s.pop(ev.item_id, 0.0)
        out.append(
            rt.event(
                "conversation.item.input_audio_transcription.completed",
                item_id=ev.item_id,
                content_index=0,
                transcript=ev.text,
                usage={"type": "duration", "seconds": round(seconds, 3)},
            )
        )
        out.append(rt.event("conversation.item.done", previous_item_id=None, item=item))
        return out

    # ---- agent side ---------------------------------------------------------------------
    def _start(self, rid: str, brain_item: str) -> list[Out]:
        req = self.requests.popleft() if self.requests else ResponseRequest()
        modality = req.modality or self.state.output_modalities[0]
        r = OpenResponse(
            rid,
            brain_item,
            modality,
            req.metadata,
            AudioEncoder(self.state.output_format, self.output_rate),
        )
        r.request = req
        if req.max_output_tokens is None:
            req.max_output_tokens = self.state.max_output_tokens
        if req.out_of_band:
            self.out_of_band.add(rid)
        self.responses[rid] = r
        self.active = rid
        return [rt.event("response.created", response=self._response_json(r, "in_progress"))]

    def _on_ResponseStarted(self, ev: ResponseStarted) -> list[Out]:
        return self._start(ev.response_id, ev.item_id)

    def response_for(self, rid: str, brain_item: str) -> tuple[OpenResponse, list[Out]]:
        """The response (opened with response.created when this is its first event)."""
        return self._get(rid, brain_item)

    def _get(self, rid: str, brain_item: str) -> tuple[OpenResponse, list[Out]]:
        if rid in self.responses:
            return self.responses[rid], []
        out = self._start(rid, brain_item)
        return self.responses[rid], out

    def _open_message(self, r: OpenResponse) -> list[Out]:
        if r.message_index is not None:
            return []
        r.message_index = len(r.output)
        item = rt.assistant_item(r.brain_item, "in_progress", None, r.modality)
        r.output.append(item)
        prev = self.items.put(item)
        where = {"response_id": r.id, "output_index": r.message_index}
        return [
            rt.event("response.output_item.added", **where, item=item),
            rt.event("conversation.item.added", previous_item_id=prev, item=item),
            rt.event(
                "response.content_part.added",
                **where,
                item_id=r.brain_item,
                content_index=0,
                part=rt.content_part(r.modality, ""),
            ),
        ]

    def _on_AgentTextDelta(self, ev: AgentTextDelta) -> list[Out]:
        r, out = self._get(ev.response_id, ev.item_id)
        out += self._open_message(r)
        r.transcript += ev.text
        kind = (
            "response.output_audio_transcript.delta"
            if r.modality == "audio"
            else "response.output_text.delta"
        )
        out.append(
            rt.event(
                kind,
                response_id=r.id,
                item_id=r.brain_item,
                output_index=r.message_index,
                content_index=0,
                delta=ev.text,
            )
        )
        return out

    def audio_delta(self, ev: AudioChunk) -> list[Out]:
        """Audio is sent as droppable messages; see the connection's pump."""
        r, out = self._get(ev.response_id, ev.item_id)
        if r.modality != "audio":
            return out
        out += self._open_message(r)
        r.audio_s += ev.duration_s
        encoded = r.encoder(ev.audio)
        if not encoded:  # the G.711 resampler's start-up delay
            return out
        data = base64.b64encode(encoded).decode("ascii")
        out.append(
            rt.event(
                "response.output_audio.delta",
                response_id=r.id,
                item_id=r.brain_item,
                output_index=r.message_index,
                content_index=0,
                delta=data,
            )
        )
        return out

    def _on_ToolCall(self, ev: ToolCall) -> list[Out]:
        r, out = self._get(ev.response_id, ev.item_id)
        if ev.name not in {t["name"] for t in self.state.tools}:
            # a built-in tool the server runs itself: not the client's business
            return out + self._extra(
                "x.antiphon.tool_call", call_id=ev.call_id, name=ev.name, arguments=ev.arguments
            )
        item_id = "item_" + uuid.uuid4().hex[:12]
        index = len(r.output)
        item = rt.function_call_item(item_id, ev.call_id, ev.name, "", "in_progress")
        prev = self.items.put(item)
        where = {"response_id": r.id, "output_index": index, "item_id": item_id}
        done = rt.function_call_item(item_id, ev.call_id, ev.name, ev.arguments, "completed")
        r.output.append(done)
        self.items.put(done)
        self.pending_calls[ev.call_id] = ev.name
        out += [
            rt.event("response.output_item.added", response_id=r.id, output_index=index, item=item),
            rt.event("conversation.item.added", previous_item_id=prev, item=item),
            rt.event(
                "response.function_call_arguments.delta",
                **where,
                call_id=ev.call_id,
                delta=ev.arguments,
            ),
            rt.event(
                "response.function_call_arguments.done",
                **where,
                call_id=ev.call_id,
                name=ev.name,
                arguments=ev.arguments,
            ),
            rt.event("response.output_item.done", response_id=r.id, output_index=index, item=done),
            rt.event("conversation.item.done", previous_item_id=prev, item=done),
        ]
        return out + self._extra(
            "x.antiphon.tool_call", call_id=ev.call_id, name=ev.name, arguments=ev.arguments
        )

    def _on_ToolResultSpoken(self, ev: ToolResultSpoken) -> list[Out]:
        return self._extra(
            "x.antiphon.tool_result", call_id=ev.call_id, name=ev.name, output=ev.output
        )

    def _on_ResponseDone(self, ev: ResponseDone) -> list[Out]:
        r, out = self._get(ev.response_id, ev.item_id)
        status = ev.status
        if ev.reason == "max_output_tokens":  # cut by the adapter: the API's "incomplete"
            status = "incomplete"
        if r.message_index is not None:
            transcript = ev.text if status == "cancelled" else (ev.text or r.transcript)
            where = {
                "response_id": r.id,
                "item_id": r.brain_item,
                "output_index": r.message_index,
                "content_index": 0,
            }
            if r.modality == "audio":
                out.append(rt.event("response.output_audio.done", **where))
                out.append(
                    rt.event(
                        "response.output_audio_transcript.done", **where, transcript=transcript
                    )
                )
            else:
                out.append(rt.event("response.output_text.done", **where, text=transcript))
            out.append(
                rt.event(
                    "response.content_part.done",
                    **where,
                    part=rt.content_part(r.modality, transcript),
                )
            )
            item = rt.assistant_item(
                r.brain_item,
                "completed" if status == "completed" else "incomplete",
                transcript,
                r.modality,
            )
            r.output[r.message_index] = item
            prev = self.items.put(item)
            out.append(
                rt.event(
                    "response.output_item.done",
                    response_id=r.id,
                    output_index=r.message_index,
                    item=item,
                )
            )
            out.append(rt.event("conversation.item.done", previous_item_id=prev, item=item))
        details: dict[str, Any] | None = None
        if status in ("cancelled", "incomplete"):
            details = {"type": status, "reason": ev.reason or "client_cancelled"}
        elif status == "failed":
            details = {
                "type": "failed",
                "error": {"type": "server_error", "code": "response_failed"},
            }
        if self.active == r.id:
            self.active = None
        resp = self._response_json(r, status, details, final=True)
        out.append(rt.event("response.done", response=resp))
        del self.responses[r.id]
        if r.id in self.out_of_band:
            self.finished_requests[r.id] = r.request
        self._finished.append(r.id)
        return out

    def _response_json(
        self,
        r: OpenResponse,
        status: str,
        details: dict[str, Any] | None = None,
        final: bool = False,
    ) -> Out:
        use = rt.usage(self._last_user_text, r.transcript, 0.0, r.audio_s) if final else None
        extra = {"metrics": r.metrics} if final and r.metrics else None
        return rt.response_object(
            r.id,
            status,
            output=list(r.output) if final else [],
            modality=r.modality,
            voice=self.state.voice,
            output_format=self.state.output_format.as_json(),
            metadata=r.metadata,
            status_details=details,
            usage=use,
            extra=extra,
            conversation_id=None if r.id in self.out_of_band else "conv_default",
            max_output_tokens=r.request.max_output_tokens or "inf",
        )

    # ---- extras -----------------------------------------------------------------------------
    def _on_Metrics(self, ev: Metrics) -> list[Out]:
        r = self.responses.get(ev.response_id)
        if r is not None:
            r.metrics = {k: round(v, 1) for k, v in ev.values.items()}
        return self._extra("x.antiphon.metrics", response_id=ev.response_id, values=ev.values)

    def _on_StyleChanged(self, ev: StyleChanged) -> list[Out]:
        self.state.speed, self.state.volume, self.state.pitch = ev.speed, ev.volume, ev.pitch
        return self._extra("x.antiphon.style", speed=ev.speed, volume=ev.volume, pitch=ev.pitch)

    def _on_ErrorEvent(self, ev: ErrorEvent) -> list[Out]:
        kind = "invalid_request_error" if ev.recoverable else "server_error"
        return [rt.error(ev.code, ev.message, kind=kind)]

    def _extra(self, kind: str, **fields: Any) -> list[Out]:
        return [rt.event(kind, **fields)] if self.extras else []
