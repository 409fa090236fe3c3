"""MCP tools against a real MCP server process on loopback (the `mcp` package's MCPServer,
Streamable HTTP): listing, a call from speech, and a server that is down, slow or failing.
The brain is the fake one (the protocol is under test), and once the real cascade (a spoken
question that its LLM answers with the MCP tool); every event is validated against the
openai SDK's types by the client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fake_brain import fake_context
from speech import synth
from wsclient import Client, speechlike

from antiphon.server.runner import BackgroundServer

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "mcp_weather_server.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the MCP test server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _mcp(url: str, *tools: str) -> dict:  # type: ignore[type-arg]
    return {
        "type": "mcp",
        "server_label": "weather",
        "server_url": url,
        "allowed_tools": list(tools),
        "require_approval": "never",
    }


async def _session(url: str, tool: dict) -> Client:  # type: ignore[type-arg]
    c = await Client.connect(url + "/v1/realtime")
    await c.wait_for("session.created")
    await c.send("session.update", session={"type": "realtime", "tools": [tool]})
    updated = await c.wait_for("session.updated")
    assert updated["session"]["tools"][0]["server_label"] == "weather"
    return c


def _turn() -> np.ndarray:
    return np.concatenate([speechlike(0.5), np.zeros(24000 // 2, np.float32)])


async def test_mcp_tool_listed_and_called_from_speech(fake_server, mcp_url) -> None:  # type: ignore[no-untyped-def]
    c = await _session(fake_server.ws_url, _mcp(mcp_url, "get_weather"))
    added = await c.wait_for("conversation.item.added")
    assert added["item"]["type"] == "mcp_list_tools"
    await c.wait_for("mcp_list_tools.in_progress", item_id=added["item"]["id"])
    await c.wait_for("mcp_list_tools.completed", item_id=added["item"]["id"])
    listed = await c.wait_for("conversation.item.done")
    assert [t["name"] for t in listed["item"]["tools"]] == ["get_weather"]  # allowed_tools

    await c.send_audio(_turn())
    call = await c.wait_for("response.output_item.added")
    assert call["item"]["type"] == "mcp_call" and call["item"]["name"] == "get_weather"
    args = await c.wait_for("response.mcp_call_arguments.done")
    assert '"Paris"' in args["arguments"]
    await c.wait_for("response.mcp_call.in_progress")
    await c.wait_for("response.mcp_call.completed", item_id=call["item"]["id"])
    item_done = await c.wait_for("response.output_item.done")
    assert item_done["item"]["output"] == "sunny and 21 degrees in Paris"
    first = await c.wait_for("response.done")  # held until the call finished
    assert first["response"]["output"][0]["output"] == "sunny and 21 degrees in Paris"
    # the brain got the result and speaks the answer in a new response
    delta = await c.wait_for("response.output_audio_transcript.delta")
    assert "sunny and 21 degrees" in delta["delta"]
    await c.wait_for("response.done")
    await c.close()


@pytest.mark.models
@pytest.mark.slow
async def test_mcp_call_from_speech_on_the_real_cascade(cascade_server, mcp_url) -> None:  # type: ignore[no-untyped-def]
    """The real cascade hears a spoken question, its LLM chooses the MCP server's tool, the
    server calls it, and the answer spoken from the tool's result."""
    c = await _session(cascade_server.ws_url, _mcp(mcp_url, "get_weather"))
    await c.wait_for("mcp_list_tools.completed", timeout=30)
    question = synth("What is the weather in Paris today?", sample_rate=24000)
    await c.send_audio(np.concatenate([question, np.zeros(24000 * 2, np.float32)]), pace=1.0)
    heard = await c.wait_for("conversation.item.input_audio_transcription.completed", timeout=60)
    assert "weather" in heard["transcript"].lower(), heard
    # the cascade may say a filler (a message item) before the call's own item
    done = await c.wait_for("response.mcp_call.completed", timeout=120)
    call = next(
        e["item"]
        for e in c.events
        if e["type"] == "response.output_item.added" and e["item"]["id"] == done["item_id"]
    )
    assert call["type"] == "mcp_call" and call["name"] == "get_weather", call
    args = next(e for e in c.events if e["type"] == "response.mcp_call_arguments.done")
    assert "paris" in args["arguments"].lower(), args
    await c.wait_for("response.done", timeout=60)  # held until the call finished
    spoken = await c.wait_for("response.output_audio_transcript.done", timeout=120)
    assert "21" in spoken["transcript"] or "sunny" in spoken["transcript"].lower(), spoken
    await c.wait_for("response.done", timeout=60)
    await c.close()


async def test_mcp_tool_error_and_server_down(fake_server, mcp_url) -> None:  # type: ignore[no-untyped-def]
    c = await _session(fake_server.ws_url, _mcp(mcp_url, "broken_station"))
    await c.wait_for("mcp_list_tools.completed")
    await c.send_audio(_turn())
    failed = await c.wait_for("response.mcp_call.failed")
    done = await c.wait_for("response.output_item.done")
    assert done["item"]["id"] == failed["item_id"]
    assert done["item"]["error"]["type"] == "tool_execution_error"
    assert done["item"]["output"] is None
    await c.wait_for("response.done")
    await c.close()

    down = _mcp("http://127.0.0.1:9/mcp", "get_weather")
    c = await _session(fake_server.ws_url, down)
    await c.wait_for("mcp_list_tools.failed")
    err = await c.wait_for("error")
    assert err["error"]["code"] == "mcp_list_tools_failed"
    assert "127.0.0.1:9" in err["error"]["message"]
    await c.send("session.update", session={"instructions": "still here"})  # the session lives
    assert (await c.wait_for("session.updated"))["session"]["instructions"] == "still here"
    await c.close()


async def test_slow_mcp_server_times_out(mcp_url) -> None:  # type: ignore[no-untyped-def]
    with BackgroundServer(fake_context(mcp_timeout_s=1.5)) as srv:
        c = await _session(srv.ws_url, _mcp(mcp_url, "slow_forecast"))
        await c.wait_for("mcp_list_tools.completed")
        await c.send_audio(_turn())
        failed = await c.wait_for("response.mcp_call.failed", timeout=10)
        done = await c.wait_for("response.output_item.done")
        assert done["item"]["id"] == failed["item_id"]
        assert done["item"]["error"]["type"] == "http_error"
        assert "within 2 s" in done["item"]["error"]["message"]
        await c.close()


async def test_bad_mcp_configs_are_specific_errors(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    cases = [
        (
            {"type": "mcp", "server_url": "http://127.0.0.1:9/mcp"},
            "missing_required_parameter",
            "session.tools[0].server_label",
        ),
        (
            {"type": "mcp", "server_label": "x", "server_url": "ftp://x"},
            "invalid_value",
            "session.tools[0].server_url",
        ),
        (
            {
                "type": "mcp",
                "server_label": "x",
                "server_url": "http://127.0.0.1:9/mcp",
                "require_approval": "always",
            },
            "invalid_value",
            "session.tools[0].require_approval",
        ),
    ]
    for tool, code, param in cases:
        await c.send("session.update", session={"tools": [tool]})
        err = await c.wait_for("error")
        assert err["error"]["code"] == code and err["error"]["param"] == param, err
    await c.close()
