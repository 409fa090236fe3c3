"""A registry of Python callables exposed to the LLM as tools (function calling).

Tools are described with OpenAI-format schemas. ``run`` never raises: a voice agent must be
able to *say* what went wrong, so every failure (unknown tool, bad JSON, a missing or
mistyped argument, an exception inside the tool) comes back as a JSON ``{"error": ...}``
string the LLM can read and speak about.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from antiphon.session.commands import Tool

log = logging.getLogger(__name__)

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class ToolArgumentError(ValueError):
    """Arguments that do not match a tool's schema."""


@dataclass(frozen=True)
class RegisteredTool:
    tool: Tool
    fn: Callable[..., Any]
    slow: bool = False  # the brain speaks a filler ("One moment...") while it runs


def tool_from_schema(schema: Mapping[str, Any]) -> Tool:
    """Accept the Realtime shape ``{"type": "function", "name", ...}`` or the Chat
    Completions shape ``{"type": "function", "function": {"name", ...}}``."""
    body = schema.get("function", schema)
    if not isinstance(body, Mapping) or not isinstance(body.get("name"), str) or not body["name"]:
        raise ValueError(f"tool schema needs a non-empty 'name'; got {dict(schema)!r}")
    params = body.get("parameters") or {"type": "object", "properties": {}}
    if params.get("type", "object") != "object":
        raise ValueError(f"tool {body['name']!r}: parameters must be a JSON object schema")
    return Tool(
        name=body["name"], description=str(body.get("description", "")), parameters=dict(params)
    )


def tool_to_schema(tool: Tool) -> dict[str, Any]:
    """Realtime-style schema dict of a Tool."""
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    }


def _coerce(value: Any, expected: str) -> Any:
    """Small models often quote numbers/booleans ("30", "true"); accept those exact forms."""
    if isinstance(value, str):
        text = value.strip()
        if expected == "integer":
            try:
                return int(text)
            except ValueError:
                return value
        if expected == "number":
            try:
                return float(text)
            except ValueError:
                return value
        if expected == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_value(path: str, value: Any, spec: Mapping[str, Any]) -> Any:
    expected = spec.get("type")
    types = [expected] if isinstance(expected, str) else list(expected or [])
    if types:
        for t in types:
            candidate = _coerce(value, t)
            py = _JSON_TYPES.get(t)
            # bool is an int subclass in Python but not a JSON number
            if (
                py
                and isinstance(candidate, py)
                and not (t != "boolean" and isinstance(candidate, bool))
            ):
                value = candidate
                break
        else:
            raise ToolArgumentError(
                f"argument {path!r} must be of type {' or '.join(types)}; got {json.dumps(value)}"
            )
    enum = spec.get("enum")
    if enum is not None and value not in enum:
        # accept a case-insensitive match ("Kitchen" for "kitchen") and map it to the canonical value
        folded = {str(e).lower(): e for e in enum}
        if isinstance(value, str) and value.lower() in folded:
            return folded[value.lower()]
        raise ToolArgumentError(f"argument {path!r} must be one of {enum}; got {json.dumps(value)}")
    return value


def validate_arguments(tool: Tool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Check required fields and types; return the arguments to call the tool with."""
    params = tool.parameters
    props: Mapping[str, Any] = params.get("properties", {}) or {}
    missing = [name for name in params.get("required", []) if name not in arguments]
    if missing:
        raise ToolArgumentError(
            f"missing required argument(s) {', '.join(map(repr, missing))} for tool {tool.name!r}"
        )
    extra = [k for k in arguments if k not in props]
    if extra and params.get("additionalProperties") is False:
        raise ToolArgumentError(
            f"unexpected argument(s) {', '.join(map(repr, extra))} for tool {tool.name!r}; "
            f"expected {sorted(props)}"
        )
    # Unknown keys are dropped otherwise: small LLMs invent extra arguments, and passing them
    # on would make the Python call fail for no useful reason.
    return {
        k: _check_value(k, v, props[k])
        for k, v in arguments.items()
        if k in props and v is not None
    }


def error_result(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


class ToolRegistry:
    """Name → (schema, callable, slow). Thread-safe for reads once tools are registered."""

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    def register(
        self, fn: Callable[..., Any], schema: Mapping[str, Any], *, slow: bool = False
    ) -> Tool:
        tool = tool_from_schema(schema)
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = RegisteredTool(tool=tool, fn=fn, slow=slow)
        return tool

    def tool(
        self, schema: Mapping[str, Any], *, slow: bool = False
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register(fn, schema, slow=slow)
            return fn

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[Tool]:
        return [entry.tool for entry in self._tools.values()]

    def is_slow(self, name: str) -> bool:
        entry = self._tools.get(name)
        return bool(entry and entry.slow)

    def parse_arguments(self, name: str, arguments_json: str | Mapping[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments, or ToolArgumentError/KeyError with a clear message."""
        entry = self._tools.get(name)
        if entry is None:
            known = ", ".join(self._tools) or "none"
            raise KeyError(f"unknown tool {name!r}; available tools: {known}")
        if isinstance(arguments_json, Mapping):
            args: Any = dict(arguments_json)
        else:
            text = arguments_json.strip() or "{}"
            try:
                args = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ToolArgumentError(
                    f"arguments for {name!r} are not valid JSON ({exc.msg}): {text[:200]}"
                ) from exc
        if not isinstance(args, dict):
            raise ToolArgumentError(
                f"arguments for {name!r} must be a JSON object; got {json.dumps(args)[:200]}"
            )
        return validate_arguments(entry.tool, args)

    def run(self, name: str, arguments_json: str | Mapping[str, Any]) -> str:
        """Run a tool; the result (or an error) as a string for the LLM. Never raises."""
        try:
            kwargs = self.parse_arguments(name, arguments_json)
        except KeyError as exc:
            return error_result(str(exc.args[0]))
        except ToolArgumentError as exc:
            return error_result(str(exc))
        try:
            result = self._tools[name].fn(**kwargs)
        except Exception as exc:  # a tool's failure is reported to the LLM, never crashes the brain
            log.warning("tool %s failed: %s", name, exc, exc_info=True)
            return error_result(f"tool {name!r} failed: {type(exc).__name__}: {exc}")
        if isinstance(result, str):
            return result
        try:
            return json.dumps(result, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            return error_result(f"tool {name!r} returned a result that is not JSON: {exc}")
