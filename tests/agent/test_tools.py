"""ToolRegistry validation/error handling and the built-in demo tools."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from antiphon.agent.builtin_tools import DemoTools, TimerStore
from antiphon.agent.tools import ToolRegistry, tool_from_schema


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def add_schema(name: str = "add") -> dict:
    return {
        "type": "function",
        "name": name,
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "integer"},
                "b": {"type": "integer"},
                "unit": {"type": "string", "enum": ["cm", "m"]},
            },
            "required": ["a", "b"],
        },
    }


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()
    reg.register(lambda a, b, unit="": {"sum": a + b, "unit": unit}, add_schema())
    return reg


def test_schemas_are_tools(registry: ToolRegistry) -> None:
    (tool,) = registry.schemas()
    assert tool.name == "add" and tool.parameters["required"] == ["a", "b"]
    assert "add" in registry and not registry.is_slow("add")


def test_chat_completions_shape_is_accepted() -> None:
    tool = tool_from_schema(
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    )
    assert tool.name == "f" and tool.description == "d"


def test_run_ok_and_lenient_numbers(registry: ToolRegistry) -> None:
    assert json.loads(registry.run("add", '{"a": 2, "b": 3}')) == {"sum": 5, "unit": ""}
    assert json.loads(registry.run("add", {"a": "2", "b": 3.0, "unit": "CM"})) == {
        "sum": 5,
        "unit": "cm",
    }
    # invented extra arguments are dropped rather than crashing the call
    assert json.loads(registry.run("add", '{"a": 1, "b": 1, "colour": "red"}'))["sum"] == 2


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("nope", "{}", "unknown tool 'nope'; available tools: add"),
        ("add", '{"a": 1', "not valid JSON"),
        ("add", "[1, 2]", "must be a JSON object"),
        ("add", '{"a": 1}', "missing required argument(s) 'b'"),
        ("add", '{"a": "one", "b": 2}', "argument 'a' must be of type integer"),
        ("add", '{"a": true, "b": 2}', "argument 'a' must be of type integer"),
        ("add", '{"a": 1, "b": 2, "unit": "km"}', "must be one of ['cm', 'm']"),
    ],
)
def test_run_reports_bad_calls(registry: ToolRegistry, name: str, args: str, needle: str) -> None:
    result = json.loads(registry.run(name, args))
    assert needle in result["error"]


def test_tool_exception_becomes_error_result() -> None:
    reg = ToolRegistry()

    @reg.tool(
        {
            "name": "boom",
            "description": "fails",
            "parameters": {"type": "object", "properties": {}},
        },
        slow=True,
    )
    def boom() -> str:
        raise RuntimeError("database offline")

    assert reg.is_slow("boom")
    assert json.loads(reg.run("boom", "")) == {
        "error": "tool 'boom' failed: RuntimeError: database offline"
    }


def test_duplicate_and_nameless_schemas_are_rejected(registry: ToolRegistry) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(lambda: 0, add_schema())
    with pytest.raises(ValueError, match="non-empty 'name'"):
        registry.register(lambda: 0, {"type": "function", "description": "x"})


def test_builtin_tool_names() -> None:
    tools = DemoTools()
    assert tools.registry.names() == [
        "get_current_time",
        "set_timer",
        "control_lights",
        "get_light_state",
    ]


def test_get_current_time_with_timezone() -> None:
    fixed = datetime(2026, 3, 3, 16, 5, tzinfo=ZoneInfo("UTC"))
    tools = DemoTools(now=lambda tz: fixed.astimezone(tz) if tz else fixed)
    out = json.loads(tools.registry.run("get_current_time", '{"timezone": "Asia/Tokyo"}'))
    assert out["time"] == "01:05" and out["date"] == "Wednesday, 04 March 2026"
    bad = json.loads(tools.registry.run("get_current_time", '{"timezone": "Mars/Olympus"}'))
    assert "unknown time zone 'Mars/Olympus'" in bad["error"]
    real = json.loads(DemoTools().registry.run("get_current_time", "{}"))
    assert len(real["time"]) == 5


def test_lights_toy_home() -> None:
    tools = DemoTools()
    out = json.loads(tools.registry.run("control_lights", '{"room": "Kitchen", "state": "on"}'))
    assert out == {"rooms": ["kitchen"], "state": "on", "ok": True}
    state = json.loads(tools.registry.run("get_light_state", '{"room": "the kitchen"}'))
    assert state == {"kitchen": "on at 100%"}
    assert tools.home.lights["bedroom"] is False
    err = json.loads(tools.registry.run("control_lights", '{"room": "garage", "state": "on"}'))
    assert "no room called 'garage'" in err["error"]
    tools.registry.run("control_lights", '{"room": "all", "state": "on", "brightness": 40}')
    assert all(tools.home.lights.values()) and tools.home.brightness["office"] == 40


def test_timers_fire_on_the_injected_clock() -> None:
    clock = FakeClock()
    tools = DemoTools(clock=clock)
    out = json.loads(tools.registry.run("set_timer", '{"seconds": 90, "label": "tea"}'))
    assert out["duration"] == "1 minute and 30 seconds"
    tools.registry.run("set_timer", '{"seconds": "30"}')
    assert tools.timers.seconds_until_next() == 30
    clock.t += 31
    (due,) = tools.timers.pop_due()
    assert due.seconds == 30 and tools.timers.pop_due() == []
    clock.t += 60
    (tea,) = tools.timers.pop_due()
    assert tea.label == "tea" and tools.timers.seconds_until_next() is None
    assert (
        "must be positive"
        in json.loads(tools.registry.run("set_timer", '{"seconds": -5}'))["error"]
    )


def test_timer_cancel() -> None:
    store = TimerStore(clock=FakeClock())
    t = store.add(10, "x")
    assert store.cancel(t.id) and not store.cancel(t.id) and store.pending() == []
