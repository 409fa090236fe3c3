"""The Realtime wire protocol against a live server (fake brain): event order, GA shapes
(validated by the openai SDK's models), tool round trip, metadata, formats, beta names."""

from __future__ import annotations

import base64

import numpy as np
from wsclient import Client, speechlike

from antiphon.server.audio_formats import WireFormat, decode_audio, ulaw_encode

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


def _spoken_turn() -> np.ndarray:
    return np.concatenate(
        [np.zeros(2400, np.float32), speechlike(0.5), np.zeros(24000 // 2, np.float32)]
    )


async def test_spoken_turn_with_tool_round_trip(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    created = await c.wait_for("session.created")
    assert created["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    await c.send(
        "session.update",
        session={
            "type": "realtime",
            "tools": TOOLS,
            "unknown_field": 1,
            "audio": {
                "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 400}}
            },
        },
    )
    updated = await c.wait_for("session.updated")
    assert updated["session"]["tools"][0]["name"] == "get_weather"
    assert updated["session"]["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 400

    await c.send_audio(_spoken_turn())
    started = await c.wait_for("input_audio_buffer.speech_started")
    stopped = await c.wait_for("input_audio_buffer.speech_stopped", item_id=started["item_id"])
    await c.wait_for("input_audio_buffer.committed", item_id=stopped["item_id"])
    await c.wait_for("conversation.item.added")
    done = await c.wait_for("conversation.item.input_audio_transcription.completed")
    assert "weather" in done["transcript"]
    await c.wait_for("response.created")
    args = await c.wait_for("response.function_call_arguments.done")
    assert args["name"] == "get_weather" and '"Paris"' in args["arguments"]
    first = await c.wait_for("response.done")
    assert first["response"]["status"] == "completed"
    assert first["response"]["output"][0]["type"] == "function_call"

    await c.send(
        "conversation.item.create",
        item={"type": "function_call_output", "call_id": args["call_id"], "output": "sunny"},
    )
    await c.wait_for("conversation.item.added")
    await c.send("response.create", response={"metadata": {"turn": "2"}})
    created2 = await c.wait_for("response.created")
    assert created2["response"]["metadata"] == {"turn": "2"}
    await c.wait_for("response.output_item.added")
    await c.wait_for("response.content_part.added")
    delta = await c.wait_for("response.output_audio_transcript.delta")
    assert "sunny" in delta["delta"]
    audio = await c.wait_for("response.output_audio.delta")
    assert len(base64.b64decode(audio["delta"])) % 2 == 0
    await c.wait_for("response.output_audio.done")
    tdone = await c.wait_for("response.output_audio_transcript.done")
    assert "sunny" in tdone["transcript"]
    final = await c.wait_for("response.done")
    assert final["response"]["metadata"] == {"turn": "2"}
    assert final["response"]["usage"]["total_tokens"] > 0
    # GA ordering inside the response
    t = c.types()
    i = len(t) - 1 - t[::-1].index("response.created")
    tail = [x for x in t[i:] if x != "response.output_audio.delta"]
    assert tail[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert tail[-3:] == ["response.output_item.done", "conversation.item.done", "response.done"]
    await c.close()


async def test_item_retrieve_delete_truncate_and_text_item(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    await c.send(
        "conversation.item.create",
        item={
            "id": "item_mine",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hello"}],
        },
    )
    added = await c.wait_for("conversation.item.added")
    assert added["item"]["id"] == "item_mine"
    await c.send("conversation.item.retrieve", item_id="item_mine")
    got = await c.wait_for("conversation.item.retrieved")
    assert got["item"]["content"][0]["text"] == "hello"
    await c.send("response.create")
    done = await c.wait_for("response.done")
    item_id = done["response"]["output"][0]["id"]
    await c.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=100)
    trunc = await c.wait_for("conversation.item.truncated")
    assert trunc["audio_end_ms"] == 100
    await c.send("conversation.item.delete", item_id="item_mine")
    await c.wait_for("conversation.item.deleted", item_id="item_mine")
    await c.send("conversation.item.retrieve", item_id="item_mine")
    err = await c.wait_for("error")
    assert err["error"]["code"] == "item_retrieve_invalid_item_id"
    await c.close()


async def test_cancel_active_response_and_g711_output(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    await c.send(
        "session.update",
        session={
            "type": "realtime",
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}},
                "output": {"format": {"type": "audio/pcma"}},
            },
        },
    )
    upd = await c.wait_for("session.updated")
    assert upd["session"]["audio"]["output"]["format"] == {"type": "audio/pcma"}
    await c.send("response.create")
    audio = await c.wait_for("response.output_audio.delta")
    pcm = decode_audio(WireFormat("audio/pcma", 8000), base64.b64decode(audio["delta"]))
    assert len(pcm) > 0 and np.abs(pcm).max() > 0.05  # a real tone at 8 kHz
    await c.send("response.cancel")
    done = await c.wait_for("response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    # mu-law input of a spoken turn is understood
    noise = (speechlike(0.5, rate=8000) * 32767).clip(-32768, 32767).astype(np.int16)
    ulaw = base64.b64encode(ulaw_encode(noise) + bytes([0xFF]) * 4000).decode()
    await c.send("input_audio_buffer.append", audio=ulaw)
    await c.wait_for("input_audio_buffer.speech_started")
    await c.close()


async def test_beta_names_for_beta_clients(fake_server) -> None:  # type: ignore[no-untyped-def]
    import json

    import websockets

    async with websockets.connect(
        fake_server.ws_url + "/v1/realtime", additional_headers={"OpenAI-Beta": "realtime=v1"}
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "modalities": ["text", "audio"],
                        "voice": "alloy",
                        "input_audio_format": "pcm16",
                        "turn_detection": None,
                    },
                }
            )
        )
        await ws.send(json.dumps({"type": "response.create"}))
        seen: list[str] = []
        while "response.done" not in seen:
            seen.append(json.loads(await ws.recv())["type"])
    assert "response.audio.delta" in seen and "response.audio_transcript.delta" in seen
    assert "response.output_audio.delta" not in seen and "conversation.item.done" not in seen


async def test_manual_commit(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.send(
        "session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
    )
    await c.wait_for("session.updated")
    await c.send("input_audio_buffer.commit")
    err = await c.wait_for("error")
    assert err["error"]["code"] == "input_audio_buffer_commit_empty"
    await c.send_audio(speechlike(0.3))
    await c.send("input_audio_buffer.commit")
    await c.wait_for("input_audio_buffer.committed")
    done = await c.wait_for("conversation.item.input_audio_transcription.completed")
    assert done["transcript"]
    await c.send("input_audio_buffer.clear")
    await c.wait_for("input_audio_buffer.cleared")
    await c.close()
