"""Server settings: limits, timeouts and auth. One frozen object shared by every connection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None  # required for non-loopback binds unless insecure
    insecure: bool = False
    # A JSON message larger than this is answered with an error event (the session lives);
    # a WebSocket frame larger than hard_max_message_bytes closes the socket (1009).
    max_message_bytes: int = 1 << 20
    hard_max_message_bytes: int = 16 << 20
    # Flood control: a token bucket per connection; beyond it the socket closes (1008).
    max_messages_per_s: float = 400.0
    burst_messages: int = 2000
    max_pending_commands: int = 1024
    # Outgoing: audio deltas beyond this backlog are dropped (and counted) for a slow client;
    # control events are never dropped, but a backlog beyond max_control_backlog closes it.
    max_audio_backlog: int = 250  # 20 ms frames = 5 s of audio
    max_control_backlog: int = 5000
    idle_timeout_s: float = 300.0
    max_session_s: float = 3600.0
    lead_ms: int = 150  # audio sent this far ahead of real time, for network jitter
    max_sessions: int = 64
    # Input pacing: audio more than this far ahead of real time is refused (an error event);
    # None turns pacing off
    max_input_lead_ms: int | None = 2000
    max_event_queue: int = 2000  # a session's undelivered events (audio dropped beyond it)
    drain_s: float = 30.0  # on SIGTERM, live sessions get this long to finish
    # WebRTC (`POST /v1/realtime/calls`): host candidates on these addresses (empty: every
    # interface), and STUN/TURN URLs for deployments behind NAT (none by default)
    webrtc_host_addresses: tuple[str, ...] = ("127.0.0.1",)
    ice_servers: tuple[str, ...] = ()
    ice_username: str | None = None
    ice_credential: str | None = None
    # Check every standard Realtime event against the openai SDK's model before sending it
    # (a mismatch raises); the tests turn it on, a deployment need not pay for it
    validate_events: bool = False
    mcp_timeout_s: float = 15.0  # an MCP server slower than this fails the list or the call

    def requires_key(self) -> bool:
        return self.api_key is not None
