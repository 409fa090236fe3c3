"""Ops endpoints: /readyz, a Prometheus scrape of /metrics, refusal at the session limit,
and a graceful drain (SIGTERM: no new sessions, live ones finish, then the server exits)."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import httpx
import numpy as np
import pytest
import websockets
from fake_brain import FakeBrain
from prometheus_client.parser import text_string_to_metric_families
from wsclient import Client

from antiphon.server.config import ServerConfig
from antiphon.server.context import ServerContext
from antiphon.server.runner import BackgroundServer
from antiphon.session.session import Session


def _context(**config: object) -> ServerContext:
    cfg = ServerConfig(**config)  # type: ignore[arg-type]

    def make() -> Session:
        return ctx.observed(
            Session(
                FakeBrain(),
                lead_ms=cfg.lead_ms,
                echo_cancel=False,
                max_input_lead_ms=cfg.max_input_lead_ms,
            )
        )

    ctx = ServerContext(cfg, make, model_name="fake")
    return ctx


def _scrape(url: str) -> dict[str, float]:
    resp = httpx.get(url + "/metrics", timeout=5)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(resp.text):
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[s.name + (f"{{{labels}}}" if labels else "")] = s.value
    return out


async def _answer(c: Client) -> None:
    await c.send("response.create")
    await c.wait_for("response.done", timeout=10)


async def _refused(url: str) -> tuple[int, str]:
    with pytest.raises(websockets.InvalidStatus) as err:
        await websockets.connect(url)
    resp = err.value.response
    return resp.status_code, json.loads(resp.body or b"{}")["error"]["code"]


async def test_metrics_scrape_and_refusal_at_the_session_limit() -> None:
    with BackgroundServer(_context(max_sessions=1)) as srv:
        url = srv.ws_url + "/v1/realtime"
        assert httpx.get(srv.url + "/readyz").status_code == 200
        c = await Client.connect(url)
        await c.wait_for("session.created")
        await _answer(c)
        m = _scrape(srv.url)
        assert m["antiphon_sessions_open"] == 1
        assert m["antiphon_sessions_total"] == 1
        assert m["antiphon_draining"] == 0
        # full: the next client is refused before the upgrade, clearly, and counted
        assert httpx.get(srv.url + "/readyz").status_code == 503
        assert await _refused(url) == (503, "server_busy")
        m = _scrape(srv.url)
        assert m["antiphon_refused_connections_total{reason=server_busy}"] == 1
        # a flood of audio far ahead of real time: refused with a specific error, counted
        await c.send_audio(np.zeros(24000 * 3, np.float32), chunk_ms=1000)
        err = await c.wait_for("error", timeout=5)
        assert err["error"]["code"] == "input_audio_ahead_of_real_time"
        await asyncio.sleep(0.2)
        m = _scrape(srv.url)
        assert m["antiphon_input_refused_appends_total"] >= 1
        assert m["antiphon_error_events_total{code=input_audio_ahead_of_real_time}"] >= 1
        await c.ws.close()


async def test_sigterm_drains_live_sessions_then_exits() -> None:
    with BackgroundServer(_context(drain_s=20.0)) as srv:
        url = srv.ws_url + "/v1/realtime"
        live = await Client.connect(url)
        await live.wait_for("session.created")
        srv.server.handle_exit(signal.SIGTERM, None)  # what uvicorn's signal handler calls
        assert httpx.get(srv.url + "/readyz").status_code == 503
        assert _scrape(srv.url)["antiphon_draining"] == 1
        assert await _refused(url) == (503, "server_draining")
        await _answer(live)  # the live session is still served
        assert srv._thread.is_alive()
        await live.ws.close()
        t0 = time.monotonic()
        while srv._thread.is_alive() and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.05)
        assert not srv._thread.is_alive(), "the server did not exit once drained"


async def test_drain_deadline_closes_what_is_left() -> None:
    with BackgroundServer(_context(drain_s=0.5)) as srv:
        live = await Client.connect(srv.ws_url + "/v1/realtime")
        await live.wait_for("session.created")
        srv.server.handle_exit(signal.SIGTERM, None)
        t0 = time.monotonic()
        while srv._thread.is_alive() and time.monotonic() - t0 < 8:
            await asyncio.sleep(0.05)
        assert not srv._thread.is_alive()
