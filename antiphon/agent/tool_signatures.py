"""The declared tools as one-line signatures for the reply's system prompt.

Qwen2.5's template prints each tool as its whole JSON schema (``tool | tojson``): ~100
tokens a tool, 874 prompt tokens for the 8 tools of `antiphon bench quality` against 414
as signatures. On 2 cores a prompt token costs ~10 ms, and a session that declares a new
tool set pays for all of them before its first answer. The call itself does not depend
on the listing: its name and arguments are sampled under a grammar built from the full
schemas (agent/tool_grammar.py), so the listing only has to tell the model what each tool
does and what its arguments mean. Measured in text on `bench quality`'s items with the 8
tools and the spoken persona (Qwen2.5-Coder-1.5B, temperature 0, 2026-12-07,
docs/bench-quality.md): the same right calls, plain remarks and answers either way, and
fewer invented optional arguments (``"unit": "celsius"`` for "seventy two degrees").

    set_timer(minutes?: integer >= 0 (whole minutes), label?: string): Start a timer.
    control_lights(room: "kitchen"|"office", state: "on"|"off"): Switch the lights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from antiphon.session.commands import Tool


def _compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def argument_type(schema: Mapping[str, Any]) -> str:
    """What an argument takes, in a few words: an enum's values, a type with its bounds,
    an array's item type; anything richer (nested objects, anyOf) as its compact schema."""
    if "enum" in schema:
        return "|".join(_compact_json(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        return "|".join(kind)
    if kind == "array" and isinstance(schema.get("items", {}), Mapping):
        return f"array of {argument_type(schema.get('items', {}))}"
    if not isinstance(kind, str) or (kind == "object" and schema.get("properties")):
        return _compact_json(schema)
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{kind} {low}-{high}"
    if low is not None:
        return f"{kind} >= {low}"
    if high is not None:
        return f"{kind} <= {high}"
    return kind


def signature(tool: Tool) -> str:
    """``name(arg: type (description), optional?: type): description`` on one line."""
    parameters = tool.parameters if isinstance(tool.parameters, Mapping) else {}
    properties = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    args = []
    for name, schema in properties.items():
        schema = schema if isinstance(schema, Mapping) else {}
        arg = f"{name}{'' if name in required else '?'}: {argument_type(schema)}"
        if isinstance(schema.get("description"), str) and schema["description"].strip():
            arg += f" ({_one_line(schema['description'])})"
        args.append(arg)
    head = f"{tool.name}({', '.join(args)})"
    return f"{head}: {_one_line(tool.description)}" if tool.description.strip() else head
