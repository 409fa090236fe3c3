"""`--brain moshi` through the real server: the `openai` SDK on the Realtime endpoint and a
Moshi-protocol client on /api/chat, each with a tiny random model, in real time."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import numpy as np
import pytest
from test_moshi_protocol import moshi_turn
from wsclient import speechlike

from antiphon.audio.io import float_to_pcm16
from antiphon.server.config import ServerConfig
from antiphon.server.context import e2e_context
from antiphon.server.runner import BackgroundServer


@pytest.fixture(scope="module")
def moshi_server(tiny_stack) -> Iterator[BackgroundServer]:  # type: ignore[no-untyped-def]
    with BackgroundServer(e2e_context(tiny_stack, ServerConfig(lead_ms=150))) as srv:
        yield srv


async def test_openai_sdk_gets_audio_and_text_in_real_time(moshi_server) -> None:  # type: ignore[no-untyped-def]
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        api_key="sk-local",
        base_url=moshi_server.url + "/v1",
        websocket_base_url=moshi_server.ws_url + "/v1",
    )
    audio = speechlike(3.0)
    seconds_sent = 0.0
    async with client.realtime.connect(model="antiphon") as conn:

        async def talk() -> None:
            nonlocal seconds_sent
            t0 = time.monotonic()
            for i in range(0, len(audio), 960):
                chunk = base64.b64encode(float_to_pcm16(audio[i : i + 960])).decode()
                await conn.input_audio_buffer.append(audio=chunk)
                seconds_sent = (i + 960) / 24000
                await asyncio.sleep(max(0.0, t0 + seconds_sent - time.monotonic()))

        sender = asyncio.create_task(talk())
        pcm = bytearray()
        transcript = ""
        first_audio_at_sent = None
        kinds: set[str] = set()
        async with asyncio.timeout(30):
            async for ev in conn:
                kinds.add(ev.type)
                if ev.type == "response.output_audio.delta":
                    if first_audio_at_sent is None:
                        first_audio_at_sent = seconds_sent
                    pcm += base64.b64decode(ev.delta)
                elif ev.type == "response.output_audio_transcript.delta":
                    transcript += ev.delta
                if sender.done() and len(pcm) >= 2 * 24000:  # 1 s of agent audio
                    break
        await sender
    assert "response.created" in kinds and "error" not in kinds
    assert transcript.strip(), "inner-monologue text reaches the client"
    # real time: the agent's audio started while the user was still talking
    assert first_audio_at_sent is not None and first_audio_at_sent < 2.5
    samples = np.frombuffer(bytes(pcm), np.int16)
    assert samples.size >= 24000 and np.abs(samples).max() > 0


async def test_moshi_protocol_client_gets_audio_and_text(moshi_server) -> None:  # type: ignore[no-untyped-def]
    text, pcm, _ = await moshi_turn(
        moshi_server.ws_url + "/api/chat", speechlike(2.0), wait_text=None, timeout=8
    )
    assert text.strip()
    assert pcm.size >= 24000  # at least 1 s of agent audio in 8 s


def test_serve_moshi_without_a_usable_checkpoint_says_why(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from antiphon.cli import build_parser
    from antiphon.server.main import main

    assert main(build_parser().parse_args(["serve", "--brain", "moshi"])) == 2
    assert "--checkpoint" in capsys.readouterr().err
    args = build_parser().parse_args(["serve", "--brain", "moshi", "--checkpoint", str(tmp_path)])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "lacks" in err and "model.safetensors" in err
    args = build_parser().parse_args(
        ["serve", "--brain", "moshi", "--checkpoint", "x", "--temp", "-1"]
    )
    assert main(args) == 2
    assert "temp must be a finite number >= 0" in capsys.readouterr().err
