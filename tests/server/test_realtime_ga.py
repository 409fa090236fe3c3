"""GA session features over the WebSocket (fake brain): semantic_vad eagerness, server_vad
idle_timeout_ms with input_audio_buffer.timeout_triggered."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from wsclient import Client, speechlike

from antiphon.server.protocol.errors import ClientError
from antiphon.server.realtime_config import RealtimeSessionState

TD = "session.audio.input.turn_detection"


@pytest.mark.parametrize(("eagerness", "ms"), [("low", 8000), ("medium", 4000), ("high", 2000)])
def test_eagerness_sets_the_longest_end_of_turn_wait(eagerness: str, ms: int) -> None:
    state = RealtimeSessionState()
    td = {"type": "semantic_vad", "eagerness": eagerness}
    cmd = state.update({"audio": {"input": {"turn_detection": td}}})
    assert cmd.turn_detection is not None and cmd.turn_detection.max_silence_ms == ms
    echoed = state.as_json()["audio"]["input"]["turn_detection"]
    assert echoed == {**echoed, "type": "semantic_vad", "eagerness": eagerness}


def test_auto_keeps_the_tuned_default() -> None:
    state = RealtimeSessionState()
    cmd = state.update({"turn_detection": {"type": "semantic_vad", "eagerness": "auto"}})
    assert cmd.turn_detection is not None and cmd.turn_detection.max_silence_ms == 1500
    assert state.as_json()["audio"]["input"]["turn_detection"]["eagerness"] == "auto"


async def test_bad_eagerness_is_a_specific_error_and_changes_nothing(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    td = {"type": "semantic_vad", "eagerness": "eager"}
    await c.send(
        "session.update", event_id="e1", session={"audio": {"input": {"turn_detection": td}}}
    )
    err = await c.wait_for("error")
    assert err["error"]["code"] == "invalid_value"
    assert err["error"]["param"] == TD + ".eagerness"
    assert err["error"]["event_id"] == "e1"
    await c.send("session.update", session={"instructions": "still alive"})
    assert (await c.wait_for("session.updated"))["session"]["instructions"] == "still alive"
    await c.close()
    with pytest.raises(ClientError) as info:
        RealtimeSessionState().update(
            {"turn_detection": {"type": "server_vad", "eagerness": "low"}}
        )
    assert (info.value.code, info.value.param) == (
        "invalid_value",
        "session.turn_detection.eagerness",
    )
    with pytest.raises(ClientError) as info:
        td = {"type": "server_vad", "idle_timeout_ms": 10}
        RealtimeSessionState().update({"turn_detection": td})
    assert info.value.param == "session.turn_detection.idle_timeout_ms"


async def test_idle_timeout_commits_the_silence_and_responds(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    td = {"type": "server_vad", "idle_timeout_ms": 5000}
    await c.send("session.update", session={"audio": {"input": {"turn_detection": td}}})
    updated = await c.wait_for("session.updated")
    assert updated["session"]["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 5000
    turn = np.concatenate([speechlike(0.5), np.zeros(24000 // 2, np.float32)])
    await c.send_audio(turn)
    await c.wait_for("response.done")
    # silence at real-time pace: the timer counts input audio, not the wall clock
    silence = np.zeros(int(24000 * 5.6), np.float32)
    sender = asyncio.create_task(c.send_audio(silence, pace=0.9))
    hit = await c.wait_for("input_audio_buffer.timeout_triggered", timeout=15)
    assert 4900 <= hit["audio_end_ms"] - hit["audio_start_ms"] <= 5200, hit
    committed = await c.wait_for("input_audio_buffer.committed", item_id=hit["item_id"])
    assert committed["item_id"] == hit["item_id"]
    await c.wait_for("conversation.item.done")
    await c.wait_for("response.created")
    await c.wait_for("response.done")
    await sender
    assert c.types().count("input_audio_buffer.timeout_triggered") == 1  # once per silence
    await c.close()


@pytest.mark.parametrize("profile", [None, "far_field"])
async def test_noise_reduction_runs_on_the_input(fake_server, profile) -> None:  # type: ignore[no-untyped-def]
    """Steady noise loud enough for the fake brain's energy VAD: without noise reduction it
    is one long "utterance"; with it the suppressor learns the noise (~1 s) and the
    utterance ends while the noise goes on."""
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    nr = {"type": profile} if profile else None
    await c.send("session.update", session={"audio": {"input": {"noise_reduction": nr}}})
    updated = await c.wait_for("session.updated")
    assert updated["session"]["audio"]["input"]["noise_reduction"] == nr
    noise = (0.04 * np.random.default_rng(0).standard_normal(24000 * 3)).astype(np.float32)
    await c.send_audio(noise, pace=0.5)
    await c.wait_for("input_audio_buffer.speech_started")
    if profile is None:
        await asyncio.sleep(0.5)  # the session has had all the audio
        assert "input_audio_buffer.speech_stopped" not in c.types()
    else:
        await c.wait_for("input_audio_buffer.speech_stopped", timeout=5)
    await c.send("session.update", session={"audio": {"input": {"noise_reduction": {"type": "x"}}}})
    err = await c.wait_for("error")
    assert err["error"]["param"] == "session.audio.input.noise_reduction.type"
    await c.close()


async def test_max_output_tokens_cuts_a_response(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    await c.send("session.update", session={"max_output_tokens": 100})
    assert (await c.wait_for("session.updated"))["session"]["max_output_tokens"] == 100
    # the fake answer: 5 words + 0.6 s of audio = 11 tokens as usage counts them
    await c.send("response.create", response={"max_output_tokens": 8})
    created = await c.wait_for("response.created")
    assert created["response"]["max_output_tokens"] == 8
    done = await c.wait_for("response.done")
    assert done["response"]["status"] == "incomplete"
    assert done["response"]["status_details"]["reason"] == "max_output_tokens"
    assert 8 <= done["response"]["usage"]["output_tokens"] < 11
    await c.send("response.create")  # the session's limit (100) lets the next one finish
    assert (await c.wait_for("response.done"))["response"]["status"] == "completed"
    await c.send("response.create", response={"max_output_tokens": 0})
    assert (await c.wait_for("error"))["error"]["param"] == "response.max_output_tokens"
    await c.close()


async def test_out_of_band_response_stays_out_of_the_conversation(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = await Client.connect(fake_server.ws_url + "/v1/realtime")
    await c.wait_for("session.created")
    text = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Rate this."}],
    }
    await c.send(
        "response.create",
        response={"conversation": "none", "input": [text], "metadata": {"purpose": "rating"}},
    )
    created = await c.wait_for("response.created")
    assert created["response"]["conversation_id"] is None
    done = await c.wait_for("response.done")
    assert done["response"]["metadata"] == {"purpose": "rating"}
    answer = done["response"]["output"][0]
    assert answer["type"] == "message" and answer["role"] == "assistant"
    start = c.types().index("response.created")
    assert "conversation.item.added" not in c.types()[start:]
    await c.send("conversation.item.retrieve", item_id=answer["id"])
    assert (await c.wait_for("error"))["error"]["code"] == "item_retrieve_invalid_item_id"
    await c.send("response.create", response={"input": [text]})  # input needs conversation none
    assert (await c.wait_for("error"))["error"]["param"] == "response.input"
    # an item of the conversation may be referenced; an unknown id is an error
    await c.send("conversation.item.create", item={**text, "id": "item_ctx"})
    await c.wait_for("conversation.item.done")
    ref = {"type": "item_reference", "id": "item_ctx"}
    await c.send("response.create", response={"conversation": "none", "input": [ref, text]})
    assert (await c.wait_for("response.done"))["response"]["status"] == "completed"
    missing = {"type": "item_reference", "id": "item_nope"}
    await c.send("response.create", response={"conversation": "none", "input": [missing]})
    err = (await c.wait_for("error"))["error"]
    assert (err["code"], err["param"]) == ("invalid_value", "response.input[0].id")
    await c.close()
