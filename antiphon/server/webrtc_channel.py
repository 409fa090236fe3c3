"""The `oai-events` data channel seen through the WebSocket-shaped interface that
`Connection` reads and writes, so one connection class serves both transports; and the
ICE settings (host addresses, STUN/TURN) every peer connection of the process uses."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import Any

from aiortc import RTCDataChannel, RTCIceServer, RTCPeerConnection

OPEN_TIMEOUT_S = 20.0  # a channel that has not opened by then is treated as gone
_DISCONNECT: dict[str, Any] = {"type": "websocket.disconnect", "code": 1000}
_ACTIVITY: dict[str, Any] = {"type": "websocket.receive"}  # no text, no bytes: activity only


class DataChannelSocket:
    """receive() / send_text() / send_bytes() / close() over a data channel.

    Before the channel opens, sends wait for it (the session starts with the HTTP answer,
    the channel opens after ICE and DTLS). A closed channel or a failed peer connection
    reads as a disconnect."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.channel: RTCDataChannel | None = None
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._open = asyncio.Event()
        self._gone = False
        pc.on("connectionstatechange", self._on_state)

    def attach(self, channel: RTCDataChannel) -> None:
        """The client's `oai-events` channel (the first one wins; others are ignored)."""
        if self.channel is not None:
            return
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("close", self.disconnect)
        if channel.readyState == "open":
            self._open.set()
        else:
            channel.on("open", self._open.set)

    def _on_message(self, message: str | bytes) -> None:
        key = "text" if isinstance(message, str) else "bytes"
        self._inbox.put_nowait({"type": "websocket.receive", key: message})

    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.disconnect()

    def activity(self) -> None:
        """Media from the peer counts as client activity for the idle timeout."""
        if self._inbox.empty():
            self._inbox.put_nowait(_ACTIVITY)

    def disconnect(self) -> None:
        if not self._gone:
            self._gone = True
            self._open.set()  # wake a writer waiting for the channel
            self._inbox.put_nowait(_DISCONNECT)

    async def receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    async def _ready(self) -> RTCDataChannel:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._open.wait(), OPEN_TIMEOUT_S)
        if self._gone or self.channel is None or self.channel.readyState != "open":
            raise RuntimeError("the oai-events data channel is not open")
        return self.channel

    async def send_text(self, data: str) -> None:
        (await self._ready()).send(data)

    async def send_bytes(self, data: bytes) -> None:
        (await self._ready()).send(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.disconnect()
        await self.pc.close()


# ---- ICE settings ----------------------------------------------------------------------------
_host_addresses: tuple[str, ...] = ()
_patched = False


def set_host_addresses(addresses: tuple[str, ...]) -> None:
    """Host candidates only on these addresses (default: loopback, for a loopback bind);
    an empty tuple means every interface, as aioice does by itself. aioice leaves out
    127.0.0.1 and has no setting for it, so its address lookup is wrapped once."""
    global _host_addresses, _patched
    _host_addresses = tuple(addresses)
    if _patched:
        return
    import aioice.ice

    original = aioice.ice.get_host_addresses

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if not _host_addresses:
            return original(use_ipv4, use_ipv6)
        return [
            a for a in _host_addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)
        ]

    aioice.ice.get_host_addresses = host_addresses
    _patched = True


def loopback_only() -> bool:
    return bool(_host_addresses) and all(
        ipaddress.ip_address(a).is_loopback for a in _host_addresses
    )


def drop_remote_candidates_off_loopback(sdp: str) -> str:
    """With host candidates on loopback only, the peer can only be on this machine: its
    candidates on other interfaces are dropped so no check is ever sent off loopback."""
    if not loopback_only():
        return sdp
    kept = []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            fields = line.split()
            try:
                if not ipaddress.ip_address(fields[4]).is_loopback:
                    continue
            except (IndexError, ValueError):  # an mDNS name (.local) or a broken line
                continue
        kept.append(line)
    return "".join(kept)


def ice_servers(
    urls: tuple[str, ...], username: str | None, credential: str | None
) -> list[RTCIceServer]:
    """STUN/TURN servers from the server config. None configured means none used (aiortc
    would otherwise ask a public STUN server)."""
    return [RTCIceServer(u, username=username, credential=credential) for u in urls]
