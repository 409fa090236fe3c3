"""Built-in demo tools are the operator's, not every session's: a Realtime client that
declares no tools never receives a tool call (as with OpenAI's own server); one that asks
with the extension ``x_antiphon.demo_tools`` gets them unless the operator turned them off."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.stack import SessionTools


def _tools(policy: str) -> SessionTools:
    return SessionTools(SimpleNamespace(config=CascadeConfig(demo_tools=policy)))  # type: ignore[arg-type]


def test_demo_tools_follow_the_operators_policy() -> None:
    assert _tools("ask").schemas() == [] and not _tools("ask").is_local("control_lights")
    assert {t.name for t in _tools("on").schemas()} >= {"control_lights", "set_timer"}
    asked = _tools("ask")
    asked.demo_enabled = True
    assert asked.is_local("control_lights")
    refused = _tools("off")
    refused.demo_enabled = True  # the operator's "off" wins
    assert refused.schemas() == [] and not refused.demo_enabled


async def _text_turn(ws, text: str) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    await ws.send(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
    )
    await ws.send(json.dumps({"type": "response.create"}))
    kinds: list[str] = []
    said = ""
    try:
        async with asyncio.timeout(300):  # generous: a loaded 2-core box is slow
            while True:
                ev = json.loads(await ws.recv())
                kinds.append(ev["type"])
                if ev["type"] in (
                    "response.output_text.delta",
                    "response.output_audio_transcript.delta",
                ):
                    said += ev["delta"]
                if ev["type"] == "error":
                    raise AssertionError(f"server error: {ev['error']}")
                if ev["type"] == "response.done" and ev["response"]["status"] != "in_progress":
                    return kinds, said
    except TimeoutError:
        raise AssertionError(f"no response.done; events: {kinds}") from None


@pytest.mark.models
@pytest.mark.slow
async def test_api_session_without_tools_never_gets_a_tool_call(cascade_server) -> None:  # type: ignore[no-untyped-def]
    import websockets

    # x_antiphon=1: the server also reports the built-in tools it runs itself
    # (x.antiphon.tool_call), which are otherwise not the client's business
    url = cascade_server.ws_url + "/v1/realtime?x_antiphon=1"
    async with websockets.connect(url, max_size=None) as ws:
        update = {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["text"]},
        }
        await ws.send(json.dumps(update))
        kinds, said = await _text_turn(ws, "Please turn on the kitchen lights.")
        assert not [k for k in kinds if "function_call" in k or "tool_call" in k], kinds
        assert said.strip(), "the request is answered in words instead"
        # the same session asking for the operator's demo tools now gets the call
        update["session"]["x_antiphon"] = {"demo_tools": True}  # type: ignore[index]
        await ws.send(json.dumps(update))
        kinds, _ = await _text_turn(ws, "Please turn on the kitchen lights.")
        assert "x.antiphon.tool_call" in kinds, kinds
