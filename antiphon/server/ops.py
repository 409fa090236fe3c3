"""Running the server behind a load balancer: liveness, readiness, metrics, admission and a
graceful drain.

- ``/healthz`` (app.py): the process answers (liveness; never depends on load).
- ``/readyz``: 200 while new sessions are welcome; 503 while draining or full, so a load
  balancer sends the next conversation to another replica.
- ``/metrics``: Prometheus text (antiphon/server/metrics.py).
- Admission: a WebSocket that arrives while the server drains or is at ``max_sessions`` is
  refused before the upgrade with HTTP 503 and a JSON error (``server_draining``,
  ``server_busy``), and counted.
- Drain: the first SIGTERM stops admitting sessions and lets the live ones finish, up to
  ``drain_s``; then (or as soon as none is left) the server exits. A second signal exits
  at once.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from types import FrameType

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from antiphon.server.context import ServerContext
from antiphon.server.metrics import CONTENT_TYPE

log = logging.getLogger("antiphon.server")


def ops_routes(ctx: ServerContext) -> list[Route]:
    async def readyz(_: Request) -> JSONResponse:
        if ctx.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        if ctx.full():
            return JSONResponse({"status": "full"}, status_code=503)
        return JSONResponse({"status": "ready", "sessions_open": ctx.stats.sessions_open})

    async def metrics(_: Request) -> Response:
        return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)

    return [Route("/readyz", readyz), Route("/metrics", metrics)]


class AdmissionGate:
    """ASGI middleware: refuse new WebSocket sessions while draining or full."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            refusal = None
            if self.ctx.draining:
                refusal = ("server_draining", "the server is shutting down; connect again")
            elif self.ctx.full():
                limit = self.ctx.config.max_sessions
                refusal = ("server_busy", f"the server is at its limit of {limit} sessions")
            if refusal is not None:
                self.ctx.metrics.refusals.labels(refusal[0]).inc()
                await _refuse(scope, receive, send, *refusal)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, code: str, message: str) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps(
            {"error": {"type": "server_error", "code": code, "message": message}}
        ).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1013, "reason": message[:120]})


class DrainingServer(uvicorn.Server):
    """uvicorn closes every WebSocket at once on shutdown; this drains them first."""

    def __init__(self, config: uvicorn.Config, ctx: ServerContext) -> None:
        super().__init__(config)
        self.ctx = ctx

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and not self.ctx.draining and self.ctx.config.drain_s > 0:
            self.begin_drain()
            return
        super().handle_exit(sig, frame)

    def begin_drain(self) -> None:
        """Stop admitting sessions; exit once the live ones are done or drain_s passed."""
        self.ctx.draining_since = time.monotonic()
        log.info(
            "draining: %d live session(s), up to %.0f s",
            self.ctx.stats.sessions_open,
            self.ctx.config.drain_s,
        )

    async def on_tick(self, counter: int) -> bool:
        since = self.ctx.draining_since
        if since is not None and not self.should_exit:
            if self.ctx.stats.sessions_open == 0:
                log.info("drained: no live session left")
                self.should_exit = True
            elif time.monotonic() - since > self.ctx.config.drain_s:
                log.warning(
                    "drain deadline: closing %d live session(s)", self.ctx.stats.sessions_open
                )
                self.should_exit = True
        return await super().on_tick(counter)
