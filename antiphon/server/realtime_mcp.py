"""MCP tools in a Realtime connection: listing when the session names MCP servers
(`mcp_list_tools.*` and an `mcp_list_tools` item), and running the calls the brain makes
(`response.mcp_call_arguments.*`, `response.mcp_call.*`, an `mcp_call` item in the
response), then handing the result back to the brain, which speaks the answer.

The brain ends its response when it calls a tool; that `response.done` is held until the
MCP call has finished, so the mcp_call item completes inside its response as in the API."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from antiphon.server import realtime_events as rt
from antiphon.server.mcp_tools import McpHub, McpServer
from antiphon.session.commands import Configure, Tool, ToolResult
from antiphon.session.events import Event, ResponseDone, ToolCall

if TYPE_CHECKING:
    from antiphon.server.realtime import RealtimeConnection

Out = dict[str, Any]


class McpBridge:
    def __init__(self, conn: RealtimeConnection, timeout_s: float) -> None:
        self.conn = conn
        self.hub = McpHub(timeout_s=timeout_s)
        self._in_flight: dict[str, int] = {}  # response id -> MCP calls not finished
        self._held: dict[str, ResponseDone] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- listing ---------------------------------------------------------------------------
    def on_configure(self, cmd: Configure) -> Configure:
        """A session.update that set tools: list the MCP servers it names (in the background);
        the brain gets their tools once listed."""
        if cmd.tools is None:
            return cmd
        servers = self.conn.state.mcp_servers
        self.hub.forget(set())  # listed again: the tools of a server may have changed
        for server in servers:
            self._spawn(self._list(server))
        return cmd

    async def _list(self, server: McpServer) -> None:
        out = self.conn.out
        assert out is not None
        item_id = "item_" + uuid.uuid4().hex[:12]
        item: Out = {
            "id": item_id,
            "type": "mcp_list_tools",
            "server_label": server.label,
            "tools": [],
        }
        prev = out.items.put(item)
        self.conn.emit(rt.event("conversation.item.added", previous_item_id=prev, item=item))
        self.conn.emit(rt.event("mcp_list_tools.in_progress", item_id=item_id))
        tools, error = await self.hub.list_tools(server)
        if error is not None:
            self.conn.emit(rt.event("mcp_list_tools.failed", item_id=item_id))
            self.conn.emit(rt.error("mcp_list_tools_failed", error, param="session.tools"))
            return
        item = {**item, "tools": tools}
        out.items.put(item)
        self.conn.emit(rt.event("mcp_list_tools.completed", item_id=item_id))
        self.conn.emit(rt.event("conversation.item.done", previous_item_id=prev, item=item))
        functions = tuple(  # the session's function tools now
            Tool(t["name"], t["description"], t["parameters"]) for t in self.conn.state.tools
        )
        self.conn.command(Configure(tools=functions + self.hub.as_brain_tools()))

    # ---- calls -----------------------------------------------------------------------------
    def intercept(self, event: Event) -> bool:
        """True when the event is the bridge's to handle (an MCP call, or a response.done
        waiting for one)."""
        if isinstance(event, ToolCall) and self.hub.label_of(event.name) is not None:
            self._start_call(event)
            return True
        if isinstance(event, ResponseDone) and self._in_flight.get(event.response_id):
            self._held[event.response_id] = event
            return True
        return False

    def _start_call(self, ev: ToolCall) -> None:
        out = self.conn.out
        assert out is not None
        r, events = out.response_for(ev.response_id, ev.item_id)
        label = self.hub.label_of(ev.name) or ""
        item_id = "item_" + uuid.uuid4().hex[:12]
        index = len(r.output)
        item: Out = {
            "id": item_id,
            "type": "mcp_call",
            "server_label": label,
            "name": ev.name,
            "arguments": "",
            "output": None,
            "error": None,
            "approval_request_id": None,
        }
        r.output.append(item)
        prev = out.items.put(item)
        where = {"response_id": r.id, "item_id": item_id, "output_index": index}
        events += [
            rt.event("response.output_item.added", response_id=r.id, output_index=index, item=item),
            rt.event("conversation.item.added", previous_item_id=prev, item=item),
            rt.event("response.mcp_call_arguments.delta", **where, delta=ev.arguments),
            rt.event("response.mcp_call_arguments.done", **where, arguments=ev.arguments),
            rt.event("response.mcp_call.in_progress", item_id=item_id, output_index=index),
        ]
        for e in events:
            self.conn.emit(e)
        self._in_flight[r.id] = self._in_flight.get(r.id, 0) + 1
        self._spawn(self._finish_call(ev, r.id, index, {**item, "arguments": ev.arguments}, prev))

    async def _finish_call(
        self, ev: ToolCall, rid: str, index: int, item: Out, prev: str | None
    ) -> None:
        outcome = await self.hub.call(ev.name, ev.arguments)
        out = self.conn.out
        assert out is not None
        done = {**item, "output": outcome.output, "error": outcome.error}
        kind = (
            "response.mcp_call.completed" if outcome.error is None else "response.mcp_call.failed"
        )
        self.conn.emit(rt.event(kind, item_id=item["id"], output_index=index))
        r = out.responses.get(rid)
        if r is not None and index < len(r.output):
            r.output[index] = done
        out.items.put(done)
        self.conn.emit(
            rt.event("response.output_item.done", response_id=rid, output_index=index, item=done)
        )
        self.conn.emit(rt.event("conversation.item.done", previous_item_id=prev, item=done))
        self._in_flight[rid] -= 1
        if not self._in_flight[rid]:
            del self._in_flight[rid]
            held = self._held.pop(rid, None)
            if held is not None:
                await self.conn.on_event(held)
        self.conn.command(ToolResult(ev.call_id, outcome.for_model(), respond=True))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
