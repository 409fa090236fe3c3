"""Demo tools: the time, timers, and a toy smart home.

State lives in small objects owned by a :class:`DemoTools` instance (one per session), not in
module globals. Clocks are injectable so tests and benchmarks can run on virtual time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from antiphon.agent.tools import ToolRegistry

ROOMS = ("kitchen", "living room", "bedroom", "bathroom", "office")


@dataclass(frozen=True)
class Timer:
    id: int
    label: str
    seconds: float
    due_at: float  # on the TimerStore's monotonic clock


class TimerStore:
    """Pending timers. The brain polls :meth:`pop_due` (non-blocking) and can sleep for
    :meth:`seconds_until_next` in its own event loop, so no thread fires callbacks into it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[Timer] = []
        self._ids = itertools.count(1)

    def add(self, seconds: float, label: str = "") -> Timer:
        if seconds <= 0:
            raise ValueError(f"timer length must be positive; got {seconds} seconds")
        if seconds > 24 * 3600:
            raise ValueError(f"timers are limited to 24 hours; got {seconds} seconds")
        with self._lock:
            timer = Timer(next(self._ids), label, float(seconds), self._clock() + seconds)
            self._pending.append(timer)
            self._pending.sort(key=lambda t: t.due_at)
        return timer

    def cancel(self, timer_id: int) -> bool:
        with self._lock:
            before = len(self._pending)
            self._pending = [t for t in self._pending if t.id != timer_id]
            return len(self._pending) != before

    def pending(self) -> list[Timer]:
        with self._lock:
            return list(self._pending)

    def pop_due(self) -> list[Timer]:
        """Timers whose time has come, removed from the store (each is returned once)."""
        now = self._clock()
        with self._lock:
            due = [t for t in self._pending if t.due_at <= now]
            self._pending = [t for t in self._pending if t.due_at > now]
        return due

    def seconds_until_next(self) -> float | None:
        with self._lock:
            if not self._pending:
                return None
            return max(0.0, self._pending[0].due_at - self._clock())


@dataclass
class SmartHome:
    """Toy light state: room → on/off and brightness (percent)."""

    lights: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(ROOMS, False))
    brightness: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROOMS, 100))

    def room(self, name: str) -> str:
        key = " ".join(name.lower().replace("_", " ").split())
        key = key.removeprefix("the ")
        key = {"livingroom": "living room", "lounge": "living room", "study": "office"}.get(
            key, key
        )
        if key not in self.lights:
            raise ValueError(
                f"there is no room called {name!r}; rooms are: {', '.join(self.lights)}"
            )
        return key


def _describe_duration(seconds: float) -> str:
    s = round(seconds)
    minutes, secs = divmod(s, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " and ".join(words) if words else "0 seconds"


class DemoTools:
    """The built-in tools registered on a fresh :class:`ToolRegistry`."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[ZoneInfo | None], datetime] | None = None,
        default_timezone: str | None = None,
    ) -> None:
        self.timers = TimerStore(clock)
        self.home = SmartHome()
        self._now = now or (
            lambda tz: datetime.now(tz).astimezone(tz) if tz else datetime.now().astimezone()
        )
        self._default_tz = default_timezone
        self.registry = ToolRegistry()
        self._register()

    # --- tools -------------------------------------------------------------------------
    def get_current_time(self, timezone: str | None = None) -> dict[str, str]:
        tz_name = timezone or self._default_tz
        tz = None
        if tz_name:
            try:
                tz = ZoneInfo(tz_name.strip().replace(" ", "_"))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {tz_name!r}; use an IANA name like 'Europe/Paris'"
                ) from exc
        t = self._now(tz)
        return {
            "time": t.strftime("%H:%M"),
            "date": t.strftime("%A, %d %B %Y"),
            "timezone": tz_name or (t.tzname() or "local"),
            "iso": t.isoformat(timespec="seconds"),
        }

    def set_timer(self, seconds: float, label: str = "") -> dict[str, object]:
        timer = self.timers.add(seconds, label)
        return {
            "timer_id": timer.id,
            "label": label,
            "duration": _describe_duration(seconds),
            "status": "started",
        }

    def control_lights(
        self, room: str, state: str, brightness: int | None = None
    ) -> dict[str, object]:
        on = state.lower() == "on"
        targets = (
            list(self.home.lights)
            if room.strip().lower() in ("all", "everywhere", "house")
            else [self.home.room(room)]
        )
        if brightness is not None and not 0 <= brightness <= 100:
            raise ValueError(f"brightness must be between 0 and 100 percent; got {brightness}")
        for r in targets:
            self.home.lights[r] = on
            if brightness is not None:
                self.home.brightness[r] = brightness
        return {"rooms": targets, "state": "on" if on else "off", "ok": True}

    def get_light_state(self, room: str | None = None) -> dict[str, str]:
        rooms = [self.home.room(room)] if room else list(self.home.lights)
        return {
            r: (f"on at {self.home.brightness[r]}%" if self.home.lights[r] else "off")
            for r in rooms
        }

    # --- schemas -----------------------------------------------------------------------
    def _register(self) -> None:
        reg = self.registry
        reg.register(
            self.get_current_time,
            {
                "type": "function",
                "name": "get_current_time",
                "description": "Get the current date and time, optionally in a given time zone.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "timezone": {
                            "type": "string",
                            "description": "IANA time zone, e.g. Europe/Paris",
                        }
                    },
                    "required": [],
                },
            },
        )
        reg.register(
            self.set_timer,
            {
                "type": "function",
                "name": "set_timer",
                "description": "Start a countdown timer; the assistant announces it when it ends.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "seconds": {
                            "type": "number",
                            "description": "Length of the timer in seconds",
                        },
                        "label": {"type": "string", "description": "What the timer is for"},
                    },
                    "required": ["seconds"],
                },
            },
        )
        reg.register(
            self.control_lights,
            {
                "type": "function",
                "name": "control_lights",
                "description": "Turn the lights in a room on or off.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "room": {
                            "type": "string",
                            "description": f"One of: {', '.join(ROOMS)}, or all",
                        },
                        "state": {"type": "string", "enum": ["on", "off"]},
                        "brightness": {
                            "type": "integer",
                            "description": "Brightness in percent, 0-100",
                        },
                    },
                    "required": ["room", "state"],
                },
            },
        )
        reg.register(
            self.get_light_state,
            {
                "type": "function",
                "name": "get_light_state",
                "description": "Tell whether the lights are on or off, in one room or everywhere.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "room": {"type": "string", "description": f"One of: {', '.join(ROOMS)}"}
                    },
                    "required": [],
                },
            },
        )
