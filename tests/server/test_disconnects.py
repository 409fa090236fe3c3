"""Abrupt disconnects mid-response free everything: after 200 of them the server has no
extra tasks, no open sessions and no memory growth; a stalled reader never delays others."""

from __future__ import annotations

import asyncio
import gc
import json
import resource

import websockets
from fake_brain import FakeBrain
from wsclient import Client

from antiphon.server.config import ServerConfig
from antiphon.server.context import ServerContext
from antiphon.server.runner import BackgroundServer
from antiphon.session.session import Session


def _server_tasks(srv: BackgroundServer) -> int:
    assert srv.loop is not None

    async def count() -> int:
        return len(asyncio.all_tasks())

    return asyncio.run_coroutine_threadsafe(count(), srv.loop).result(timeout=5)


async def _settle(srv: BackgroundServer) -> None:
    for _ in range(200):
        if srv.ctx.stats.sessions_open == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{srv.ctx.stats.sessions_open} sessions still open")


async def _abort_mid_response(url: str) -> None:
    ws = await websockets.connect(url)
    await ws.send(json.dumps({"type": "response.create"}))
    while json.loads(await ws.recv())["type"] != "response.output_audio.delta":
        pass
    ws.transport.abort()  # no close handshake: the client simply vanishes


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def test_200_abrupt_disconnects_leak_nothing() -> None:
    cfg = ServerConfig()
    ctx = ServerContext(
        cfg,
        lambda: Session(FakeBrain(reply_s=3.0), lead_ms=100, echo_cancel=False),
        model_name="fake",
    )
    with BackgroundServer(ctx) as srv:
        url = srv.ws_url + "/v1/realtime"
        for _ in range(20):  # warm up allocator pools and caches
            await _abort_mid_response(url)
        await _settle(srv)
        gc.collect()
        tasks0, rss0 = _server_tasks(srv), _rss_kb()
        for _ in range(200):
            await _abort_mid_response(url)
        await _settle(srv)
        gc.collect()
        tasks1, rss1 = _server_tasks(srv), _rss_kb()
        assert srv.ctx.stats.sessions_total == 220
        assert tasks1 <= tasks0, (tasks0, tasks1)
        assert rss1 - rss0 < 30_000, f"RSS grew {rss1 - rss0} kB over 200 disconnects"


async def test_stalled_client_does_not_delay_others() -> None:
    cfg = ServerConfig(max_audio_backlog=20)
    ctx = ServerContext(
        cfg,
        lambda: Session(FakeBrain(reply_s=6.0), lead_ms=100, echo_cancel=False),
        model_name="fake",
    )
    with BackgroundServer(ctx) as srv:
        url = srv.ws_url + "/v1/realtime"
        # the staller asks for a long reply and then never reads again
        staller = await websockets.connect(url, max_queue=1)
        staller.transport.pause_reading()
        await staller.send(json.dumps({"type": "response.create"}))
        await asyncio.sleep(0.5)
        c = await Client.connect(url)
        await c.wait_for("session.created")
        t0 = asyncio.get_running_loop().time()
        await c.send("response.create")
        await c.wait_for("response.output_audio.delta", timeout=3)
        assert asyncio.get_running_loop().time() - t0 < 1.0
        await c.close()
        staller.transport.abort()
        await _settle(srv)
