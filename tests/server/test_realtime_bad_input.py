"""Bad input is answered with a specific error event and the session lives; protocol abuse
closes only that socket, with a proper close code; auth, limits and timeouts."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

import pytest
import websockets
from fake_brain import fake_context
from wsclient import Client, speechlike

from antiphon.server.runner import BackgroundServer


async def _error(c: Client, raw: str) -> dict:  # type: ignore[type-arg]
    await c.ws.send(raw)
    ev = await c.wait_for("error")
    return ev["error"]


async def test_bad_input_gets_specific_errors_and_the_session_lives(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    cases = [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_event", None),
        (json.dumps({"no_type": 1}), "missing_required_parameter", "type"),
        (json.dumps({"type": "no.such.event", "event_id": "evt_1"}), "unknown_event", "type"),
        (json.dumps({"type": "input_audio_buffer.append"}), "missing_required_parameter", "audio"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": 5}), "invalid_type", "audio"),
        (
            json.dumps({"type": "input_audio_buffer.append", "audio": "%%%not base64%%%"}),
            "invalid_base64",
            "audio",
        ),
        (
            json.dumps(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"abc").decode()}
            ),
            "invalid_audio",
            "audio",
        ),
        (json.dumps({"type": "session.update"}), "missing_required_parameter", "session"),
        (
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}
                    },
                }
            ),
            "invalid_value",
            "session.audio.input.format",
        ),
        (
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"audio": {"output": {"format": {"type": "audio/flac"}}}},
                }
            ),
            "invalid_value",
            "session.audio.output.format",
        ),
        (
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"audio": {"input": {"turn_detection": {"type": "magic"}}}},
                }
            ),
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (json.dumps({"type": "conversation.item.create"}), "missing_required_parameter", "item"),
        (
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
                }
            ),
            "invalid_call_id",
            "item.call_id",
        ),
        (
            json.dumps(
                {"type": "conversation.item.truncate", "item_id": "item_nope", "audio_end_ms": 5}
            ),
            "item_truncate_invalid_item_id",
            "item_id",
        ),
        (
            json.dumps({"type": "conversation.item.delete", "item_id": "item_nope"}),
            "item_delete_invalid_item_id",
            "item_id",
        ),
        (json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
        (
            json.dumps({"type": "response.create", "response": {"metadata": {"a": 1}}}),
            "invalid_type",
            "response.metadata",
        ),
        (
            json.dumps({"type": "input_audio_buffer.append", "audio": "A" * (300 * 1024)}),
            "message_too_large",
            None,
        ),
    ]
    for raw, code, param in cases:
        err = await _error(c, raw)
        assert err["code"] == code, (raw[:80], err)
        assert err["param"] == param, (raw[:80], err)
        assert err["message"]
    assert (await _error(c, json.dumps({"type": "nope", "event_id": "evt_7"})))[
        "event_id"
    ] == "evt_7"
    # the session is alive and well: a full response still works
    await c.send("response.create")
    done = await c.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    await c.close()


async def _closed_with(ws: websockets.ClientConnection) -> int | None:
    try:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return None


async def test_binary_garbage_closes_only_that_socket(fake_server) -> None:  # type: ignore[no-untyped-def]
    other = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await other.wait_for("session.created")
    ws = await websockets.connect(fake_server.ws_url + "/v1/realtime")
    await ws.send(b"\x00\xff garbage \x13")
    assert await _closed_with(ws) == 1003
    await other.send("response.create")  # the neighbour does not notice
    await other.wait_for("response.done")
    await other.close()


async def test_flood_closes_with_policy_violation() -> None:
    with BackgroundServer(fake_context(max_messages_per_s=50, burst_messages=100)) as srv:
        ws = await websockets.connect(srv.ws_url + "/v1/realtime")
        frame = json.dumps({"type": "input_audio_buffer.append", "audio": ""})
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(2000):
                await ws.send(frame)
        assert await _closed_with(ws) == 1008


async def test_frame_beyond_hard_limit_closes_1009() -> None:
    with BackgroundServer(
        fake_context(max_message_bytes=1024, hard_max_message_bytes=64 * 1024)
    ) as srv:
        ws = await websockets.connect(srv.ws_url + "/v1/realtime", max_size=None)
        await ws.send("x" * (128 * 1024))
        assert await _closed_with(ws) == 1009


async def test_api_key_and_subprotocols() -> None:
    with BackgroundServer(fake_context(api_key="secret")) as srv:
        url = srv.ws_url + "/v1/realtime"
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(url)
        assert info.value.response.status_code == 401
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(url, additional_headers={"Authorization": "Bearer wrong"})
        ok = await websockets.connect(url, additional_headers={"Authorization": "Bearer secret"})
        assert ok.subprotocol is None  # "realtime" only when offered
        await ok.close()
        browser = await websockets.connect(
            url, subprotocols=["realtime", "openai-insecure-api-key.secret"]
        )  # type: ignore[list-item]
        assert browser.subprotocol == "realtime"
        await browser.close()


async def test_idle_timeout_and_max_session_length() -> None:
    with BackgroundServer(fake_context(idle_timeout_s=0.5)) as srv:
        c = await Client.connect(srv.ws_url + "/v1/realtime")
        err = await c.wait_for("error", timeout=5)
        assert err["error"]["code"] == "idle_timeout"
        assert await _closed_with(c.ws) == 1000
    with BackgroundServer(fake_context(max_session_s=1.0)) as srv:
        c = await Client.connect(srv.ws_url + "/v1/realtime")
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(40):  # keep talking: only the session length can end it
                await c.send_audio(speechlike(0.02) * 0)
                await asyncio.sleep(0.1)
        codes = []
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            while True:
                ev = await c.recv(timeout=5)
                codes.append(ev.get("error", {}).get("code"))
        assert "max_session_length" in codes
        assert c.ws.close_code == 1000
