"""The spoken items of `bench quality`: general-knowledge questions, tool requests, plain
utterances with tool-like words, Chinese questions. Each JSON file under data/ stores its
items' tune/test split (a seeded shuffle, seed in the file)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DATA = Path(__file__).parent / "data"
Kind = Literal["general", "tools", "plain", "zh"]
KINDS: tuple[Kind, ...] = ("general", "tools", "plain", "zh")
SPLITS = ("tune", "test", "all")


class DataError(ValueError):
    """A data file is malformed, or a selection matches nothing."""


@dataclass(frozen=True)
class Item:
    id: str
    kind: Kind
    text: str  # what the user says
    split: str  # "tune" or "test"
    accept: tuple[str, ...] = ()  # general, zh: accepted answers
    tool: str | None = None  # tools: the expected function
    expect: tuple[dict[str, Any], ...] = ()  # tools: accepted argument sets
    language: str = "en"


@dataclass(frozen=True)
class ToolSet:
    """The tools a client declares for every English item (plain ones included)."""

    tools: tuple[dict[str, Any], ...]
    optional_extras: dict[str, list[str]] = field(default_factory=dict)

    def schema(self, name: str) -> dict[str, Any]:
        for t in self.tools:
            if t["name"] == name:
                return dict(t["parameters"])
        raise DataError(f"no tool named {name!r}")


def _read(kind: Kind) -> dict[str, Any]:
    path = DATA / f"{kind}.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def tool_set() -> ToolSet:
    doc = _read("tools")
    return ToolSet(tuple(doc["tools"]), dict(doc.get("optional_extras", {})))


def load(kind: Kind) -> list[Item]:
    doc = _read(kind)
    items = []
    for raw in doc["items"]:
        if raw.get("split") not in ("tune", "test"):
            raise DataError(f"{kind}.json item {raw.get('id')}: split must be tune or test")
        items.append(
            Item(
                id=raw["id"],
                kind=kind,
                text=raw["text"],
                split=raw["split"],
                accept=tuple(raw.get("accept", ())),
                tool=raw.get("tool"),
                expect=tuple(raw.get("expect", ())),
                language="zh" if kind == "zh" else "en",
            )
        )
    return items


def select(kinds: list[Kind], split: str = "test", limit: int | None = None) -> list[Item]:
    """Items of these kinds in the split, in file order; ``limit`` per kind."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    out: list[Item] = []
    for kind in kinds:
        if kind not in KINDS:
            raise DataError(f"unknown kind {kind!r}; use some of {', '.join(KINDS)}")
        chosen = [i for i in load(kind) if split == "all" or i.split == split]
        out += chosen[:limit] if limit is not None else chosen
    if not out:
        raise DataError(f"no items of kinds {kinds} in split {split!r}")
    return out


# ---- the JSON-schema subset tool parameters use -------------------------------------------


def schema_errors(schema: dict[str, Any], value: object, where: str = "arguments") -> list[str]:
    """What is wrong with ``value`` under ``schema`` (object, string, integer, number,
    boolean; enum, minimum, maximum, required, no unknown properties); [] when valid."""
    kind = schema.get("type")
    errors: list[str] = []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        props = schema.get("properties", {})
        errors += [f"{where}.{k}: required" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k not in props:
                errors.append(f"{where}.{k}: not a declared property")
            else:
                errors += schema_errors(props[k], v, f"{where}.{k}")
        return errors
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }.get(str(kind), True)
    if not ok:
        return [f"{where}: expected {kind}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > maximum {schema['maximum']}")
    return errors
