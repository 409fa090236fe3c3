"""MCP tools of a Realtime session (`{"type": "mcp", "server_label", "server_url", ...}`):
the server lists each MCP server's tools with the `mcp` package, offers them to the brain
as functions, and calls them itself when the brain does (Streamable HTTP transport).

Every failure (server down, slow, an error result) becomes a result the adapter reports
(`mcp_list_tools.failed`, `response.mcp_call.failed`); nothing here raises to the session."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from antiphon.session.commands import Tool


@dataclass(frozen=True)
class McpServer:
    label: str
    url: str
    allowed: frozenset[str] | None = None  # None: every tool the server lists
    headers: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "mcp",
            "server_label": self.label,
            "server_url": self.url,
            "allowed_tools": sorted(self.allowed) if self.allowed is not None else None,
            "require_approval": "never",
            "server_description": self.description or None,
        }


@dataclass
class CallOutcome:
    output: str | None = None
    error: dict[str, Any] | None = (
        None  # the GA shapes: protocol_error / tool_execution_error / http_error
    )

    def for_model(self) -> str:
        if self.output is not None:
            return self.output
        message = (self.error or {}).get("message", "unknown error")
        return f"The tool failed: {message}"


@dataclass
class McpHub:
    """The MCP servers of one session and the tools they offer."""

    timeout_s: float = 15.0
    servers: dict[str, McpServer] = field(default_factory=dict)
    tools: dict[str, tuple[str, dict[str, Any]]] = field(
        default_factory=dict
    )  # name -> (label, tool)

    def _client(self, server: McpServer) -> Any:
        import httpx2
        from mcp.client import Client
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers=dict(server.headers), timeout=self.timeout_s)
        return Client(streamable_http_client(server.url, http_client=http))

    async def list_tools(self, server: McpServer) -> tuple[list[dict[str, Any]], str | None]:
        """(tools in the GA item shape, error message or None)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client(server) as client:
                    listed = await client.list_tools()
        except TimeoutError:
            return [], f"MCP server {server.label!r} did not answer within {self.timeout_s:.0f} s"
        except Exception as exc:  # connection refused, HTTP errors, bad JSON-RPC: all reported
            return [], f"MCP server {server.label!r} at {server.url}: {_describe(exc)}"
        tools = [
            {
                "name": t.name,
                "description": t.description or "",
                "input_schema": t.input_schema,
                "annotations": None,
            }
            for t in listed.tools
            if server.allowed is None or t.name in server.allowed
        ]
        self.servers[server.label] = server
        for t in tools:
            self.tools[t["name"]] = (server.label, t)
        return tools, None

    def forget(self, keep: set[str]) -> None:
        """Drop servers (and their tools) the session no longer lists."""
        for label in [lb for lb in self.servers if lb not in keep]:
            del self.servers[label]
        self.tools = {n: v for n, v in self.tools.items() if v[0] in self.servers}

    def as_brain_tools(self) -> tuple[Tool, ...]:
        return tuple(
            Tool(n, t["description"], t["input_schema"]) for n, (_, t) in self.tools.items()
        )

    def label_of(self, name: str) -> str | None:
        entry = self.tools.get(name)
        return entry[0] if entry else None

    async def call(self, name: str, arguments: str) -> CallOutcome:
        label = self.label_of(name)
        if label is None:
            return CallOutcome(
                error={"type": "protocol_error", "code": -32602, "message": f"unknown tool {name}"}
            )
        server = self.servers[label]
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return CallOutcome(
                error={
                    "type": "protocol_error",
                    "code": -32700,
                    "message": f"arguments are not JSON: {exc}",
                }
            )
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client(server) as client:
                    result = await client.call_tool(name, args)
        except TimeoutError:
            msg = f"MCP server {label!r} did not answer within {self.timeout_s:.0f} s"
            return CallOutcome(error={"type": "http_error", "code": 504, "message": msg})
        except Exception as exc:
            return CallOutcome(error={"type": "http_error", "code": 502, "message": _describe(exc)})
        text = "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "text", None))
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content)
        if result.is_error:
            return CallOutcome(
                error={
                    "type": "tool_execution_error",
                    "message": text or "the tool reported an error",
                }
            )
        return CallOutcome(output=text)


def _describe(exc: BaseException) -> str:
    """The innermost useful message (anyio wraps transport errors in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
