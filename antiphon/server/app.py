"""The ASGI app: the browser page at `/`, the Realtime protocol at `/v1/realtime` (WebSocket)
and `/v1/realtime/calls` (WebRTC), Moshi's protocol at `/api/chat`, and two small JSON
endpoints for health and live counters."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from antiphon.server.context import ServerContext
from antiphon.server.moshi import moshi_endpoint
from antiphon.server.ops import AdmissionGate, ops_routes
from antiphon.server.realtime import realtime_endpoint
from antiphon.server.webrtc import Calls

WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(ctx: ServerContext) -> Starlette:
    async def index(_: Request) -> FileResponse:
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-store"})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": ctx.model_name, "language": ctx.language})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(ctx.stats.as_json())

    calls = Calls(ctx)
    app = Starlette(
        routes=[
            Route("/v1/realtime/calls", calls.create, methods=["POST"]),
            Route("/realtime/calls", calls.create, methods=["POST"]),
            Route("/v1/realtime/calls/{call_id}/hangup", calls.hangup, methods=["POST"]),
            Route("/", index),
            Route("/healthz", health),
            *ops_routes(ctx),  # /readyz, /metrics (server/ops.py)
            Route("/favicon.ico", lambda _: Response(status_code=204)),
            Route("/stats", stats),
            WebSocketRoute("/v1/realtime", realtime_endpoint),
            WebSocketRoute("/realtime", realtime_endpoint),  # base_url without /v1
            WebSocketRoute("/api/chat", moshi_endpoint),
            Mount("/static", StaticFiles(directory=WEB), name="static"),
        ],
        middleware=[Middleware(AdmissionGate, ctx=ctx)],  # draining / full: refused, counted
    )
    app.state.antiphon = ctx
    app.state.calls = calls
    return app
