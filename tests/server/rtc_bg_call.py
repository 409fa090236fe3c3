"""A silent WebRTC call held open beside a bench's turns: silence both ways, turn detection
off (its session only buffers), so what it adds is the CPU of both ends' WebRTC stacks.

In-process: `async with silent_call(url): ...`. As its own process (the bench's `rtcbg-idle`
runs it under SCHED_IDLE, so this client only gets CPU the server leaves idle):
`python tests/server/rtc_bg_call.py URL` holds the call until its stdin closes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from rtcclient import RtcClient  # noqa: E402

from antiphon.server.webrtc_channel import set_host_addresses  # noqa: E402

MANUAL = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}


@contextlib.asynccontextmanager
async def silent_call(base: str, seconds: float = 120.0) -> AsyncIterator[RtcClient]:
    client = RtcClient(base, np.zeros(int(48000 * seconds), np.float32), low_latency=True)
    try:
        await client.connect(session=MANUAL)
        await asyncio.sleep(1.0)  # the call's media flowing both ways
        yield client
    finally:
        await client.close()


async def _hold(base: str) -> None:
    set_host_addresses(("127.0.0.1",))  # the loopback-only server needs a loopback candidate
    async with silent_call(base, 3600.0):
        print("connected", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_hold(sys.argv[1]))
