"""server_vad's `idle_timeout_ms`: once the agent has finished a response, input audio
without speech for that long commits the silence and asks for a response
(`input_audio_buffer.timeout_triggered`), so an agent can prompt a user who went quiet.

Time is counted in input audio (what the client sent), as the API does: a client that
stops sending audio does not trigger it."""

from __future__ import annotations

from antiphon.session.events import Event, ResponseDone, ResponseStarted, UserSpeechStarted


class IdleTimer:
    def __init__(self) -> None:
        self.input_ms = 0.0
        self.since: float | None = None  # input time the agent's last response ended

    def on_event(self, event: Event) -> None:
        if isinstance(event, UserSpeechStarted | ResponseStarted):
            self.since = None
        elif isinstance(event, ResponseDone):
            self.since = self.input_ms

    def advance(self, ms: float, timeout_ms: int | None) -> tuple[int, int] | None:
        """Count input audio; (audio_start_ms, audio_end_ms) of the silence when it fires."""
        self.input_ms += ms
        if timeout_ms is None or self.since is None:
            return None
        if self.input_ms - self.since < timeout_ms:
            return None
        start, self.since = self.since, None  # once per silence; the next response re-arms it
        return int(start), int(self.input_ms)
