"""The life of one WebSocket connection, shared by both protocols.

Four tasks, each with one job: the reader (this coroutine) parses client messages and
queues commands; a worker applies them to the session in order; a pump turns session
events into messages in the bounded outbox; a writer sends them. Nothing the client does
(stall, flood, vanish) can block another session, and every exit path closes the session
and cancels all four tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from antiphon.server.context import ServerContext
from antiphon.server.outbox import Outbox, OutboxOverflow
from antiphon.session.commands import Command
from antiphon.session.events import Event
from antiphon.session.session import Session

log = logging.getLogger("antiphon.server")

CLOSE_NORMAL, CLOSE_UNSUPPORTED, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_ERROR = (
    1000,
    1003,
    1008,
    1009,
    1011,
)


class CloseConnection(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.t = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Transport(Protocol):
    """What a connection needs of its socket: a Starlette WebSocket, or the WebRTC data
    channel behind the same interface (webrtc_channel.DataChannelSocket)."""

    async def receive(self) -> Any: ...
    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Connection:
    """Subclasses implement on_open, on_text/on_bytes and on_event."""

    def __init__(self, ws: WebSocket | Transport, ctx: ServerContext) -> None:
        self.ws, self.ctx, self.cfg = ws, ctx, ctx.config
        self.outbox = Outbox(self.cfg.max_audio_backlog, self.cfg.max_control_backlog)
        self.commands: asyncio.Queue[Command] = asyncio.Queue(self.cfg.max_pending_commands)
        self.bucket = TokenBucket(self.cfg.max_messages_per_s, self.cfg.burst_messages)
        self.session: Session | None = None
        self._close: asyncio.Future[CloseConnection] | None = None

    # ---- hooks ------------------------------------------------------------------------
    async def on_open(self) -> None: ...

    async def on_text(self, text: str) -> None:
        raise CloseConnection(CLOSE_UNSUPPORTED, "text frames are not supported on this endpoint")

    async def on_bytes(self, data: bytes) -> None:
        raise CloseConnection(CLOSE_UNSUPPORTED, "binary frames are not supported on this endpoint")

    async def on_event(self, event: Event) -> None: ...

    # ---- helpers for subclasses -------------------------------------------------------------
    def send(self, data: str | bytes, droppable: bool = False) -> None:
        if data:
            self.outbox.put(data, droppable)

    def command(self, cmd: Command) -> None:
        try:
            self.commands.put_nowait(cmd)
        except asyncio.QueueFull:
            raise CloseConnection(CLOSE_POLICY, "too many pending messages (flood)") from None

    def request_close(self, code: int, reason: str) -> None:
        if self._close is not None and not self._close.done():
            self._close.set_result(CloseConnection(code, reason))

    # ---- lifecycle ----------------------------------------------------------------------------
    async def run(self, session: Session) -> None:
        self.session = session
        self._close = asyncio.get_running_loop().create_future()
        stats = self.ctx.stats
        stats.sessions_open += 1
        stats.sessions_total += 1
        tasks: list[asyncio.Task[Any]] = []
        try:
            await session.start()
            tasks = [
                asyncio.create_task(self._worker(), name="ws-worker"),
                asyncio.create_task(self._pump(), name="ws-pump"),
                asyncio.create_task(self._writer(), name="ws-writer"),
            ]
            await self.on_open()
            reader = asyncio.create_task(self._reader(), name="ws-reader")
            tasks.append(reader)
            waiters: list[asyncio.Future[Any]] = [reader, self._close, *tasks[:3]]
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            close = self._close.result() if self._close.done() else None
            for t in done:
                if (
                    close is None
                    and isinstance(t, asyncio.Task)
                    and not t.cancelled()
                    and t.exception() is not None
                ):
                    exc = t.exception()
                    close = (
                        exc
                        if isinstance(exc, CloseConnection)
                        else CloseConnection(CLOSE_ERROR, "internal error")
                    )
                    if not isinstance(exc, CloseConnection):
                        log.error("connection task %s failed", t.get_name(), exc_info=exc)
            if close is not None:
                if close.code != CLOSE_NORMAL:
                    stats.protocol_closes += 1
                await self._flush_then_close(tasks, close)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            self.outbox.close()
            stats.dropped_audio_messages += self.outbox.dropped
            with contextlib.suppress(Exception):
                await session.close()
            stats.sessions_open -= 1

    async def _flush_then_close(
        self, tasks: list[asyncio.Task[Any]], close: CloseConnection
    ) -> None:
        """Let queued control messages (the error that explains the close) go out first."""
        self.outbox.drop_audio()
        self.outbox.close()
        writer = tasks[2]
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(writer), timeout=1.0)
        with contextlib.suppress(Exception):
            await self.ws.close(code=close.code, reason=close.reason[:120])

    async def _reader(self) -> None:
        start = time.monotonic()
        last = start
        while True:
            now = time.monotonic()
            idle_left = self.cfg.idle_timeout_s - (now - last)
            life_left = self.cfg.max_session_s - (now - start)
            if life_left <= 0:
                self.on_timeout(
                    "max_session_length",
                    f"session reached the maximum length of {self.cfg.max_session_s:.0f} s",
                )
                raise CloseConnection(CLOSE_NORMAL, "maximum session length reached")
            try:
                msg = await asyncio.wait_for(
                    self.ws.receive(), timeout=max(0.01, min(idle_left, life_left))
                )
            except TimeoutError:
                if time.monotonic() - last >= self.cfg.idle_timeout_s:
                    self.on_timeout(
                        "idle_timeout",
                        f"no message from the client for {self.cfg.idle_timeout_s:.0f} s",
                    )
                    raise CloseConnection(CLOSE_NORMAL, "idle timeout") from None
                continue
            except (WebSocketDisconnect, RuntimeError):
                return
            if msg["type"] == "websocket.disconnect":
                return
            last = time.monotonic()
            if not self.bucket.take():
                raise CloseConnection(CLOSE_POLICY, "message rate limit exceeded")
            try:
                if msg.get("text") is not None:
                    await self.on_text(msg["text"])
                elif msg.get("bytes") is not None:
                    await self.on_bytes(msg["bytes"])
            except OutboxOverflow as exc:
                raise CloseConnection(CLOSE_POLICY, f"client too slow: {exc}") from None

    def on_timeout(self, code: str, message: str) -> None:
        """Tell the client why it is being closed (protocol-specific)."""

    async def _worker(self) -> None:
        assert self.session is not None
        while True:
            cmd = await self.commands.get()
            await self.session.send(cmd)

    async def _pump(self) -> None:
        assert self.session is not None
        try:
            async for event in self.session.events():
                await self.on_event(event)
        except OutboxOverflow as exc:
            self.request_close(CLOSE_POLICY, f"client too slow: {exc}")

    async def _writer(self) -> None:
        while (msg := await self.outbox.get()) is not None:
            try:
                if isinstance(msg.data, bytes):
                    await self.ws.send_bytes(msg.data)
                else:
                    await self.ws.send_text(msg.data)
            except Exception:  # the client went away; the reader will notice
                self.request_close(CLOSE_NORMAL, "client gone")
                return
