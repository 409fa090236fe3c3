"""Run the app with uvicorn: in the foreground (`antiphon serve`), or in a background
thread on a free loopback port (tests, `antiphon bench load`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from antiphon.server.app import create_app
from antiphon.server.context import ServerContext
from antiphon.server.ops import DrainingServer


def uvicorn_config(ctx: ServerContext, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        create_app(ctx),
        host=ctx.config.host,
        port=ctx.config.port,
        log_level=log_level,
        ws="websockets-sansio",
        ws_max_size=ctx.config.hard_max_message_bytes,  # frames above it: close 1009
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="off",
        timeout_graceful_shutdown=3,  # then open sessions are cancelled (and cleaned up)
    )


class BackgroundServer:
    """`with BackgroundServer(ctx) as srv: srv.url` — a live server on 127.0.0.1."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.server = DrainingServer(uvicorn_config(ctx), ctx)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="antiphon-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self._sock]))

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
