"""bench quality's data files: sizes the issue asks for, a reproducible half/half split,
and expected tool arguments that a client's own schema accepts."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from antiphon.bench.quality import data, voices
from antiphon.bench.quality.data import DATA, schema_errors

MINIMUM = {"general": 150, "tools": 60, "plain": 60, "zh": 40}


@pytest.mark.parametrize("kind", data.KINDS)
def test_sizes_and_unique_ids(kind: data.Kind) -> None:
    items = data.load(kind)
    assert len(items) >= MINIMUM[kind]
    assert len({i.id for i in items}) == len(items)
    assert len({i.text for i in items}) == len(items)
    if kind in ("general", "zh"):
        assert all(i.accept for i in items)


@pytest.mark.parametrize("kind", data.KINDS)
def test_split_is_the_seeded_shuffle_in_the_file(kind: data.Kind) -> None:
    doc = json.loads((DATA / f"{kind}.json").read_text())
    order = list(range(len(doc["items"])))
    random.Random(doc["split_seed"]).shuffle(order)
    half = len(order) // 2
    want = {doc["items"][i]["id"]: ("tune" if r < half else "test") for r, i in enumerate(order)}
    assert {it["id"]: it["split"] for it in doc["items"]} == want
    tune = {i.text for i in data.select([kind], "tune")}
    test = {i.text for i in data.select([kind], "test")}
    assert not tune & test and abs(len(tune) - len(test)) <= 1


def test_tool_requests_cover_six_tools_with_valid_arguments() -> None:
    tools = data.tool_set()
    items = data.load("tools")
    per_tool = Counter(i.tool for i in items)
    assert len(per_tool) >= 6 and min(per_tool.values()) >= 5
    assert any("uh" in i.text.lower().split() or "um," in i.text.lower() for i in items)
    for item in items:
        assert item.tool is not None and item.expect, item.id
        schema = tools.schema(item.tool)
        for alternative in item.expect:
            # a list value is "any of these": each must be a valid argument on its own
            for pick in range(
                max((len(v) for v in alternative.values() if isinstance(v, list)), default=1)
            ):
                args = {
                    k: (v[min(pick, len(v) - 1)] if isinstance(v, list) else v)
                    for k, v in alternative.items()
                }
                assert schema_errors(schema, args) == [], (item.id, args)


def test_schema_check_catches_what_a_model_gets_wrong() -> None:
    schema = data.tool_set().schema("control_lights")
    assert schema_errors(schema, {"room": "kitchen", "state": "on", "brightness": 40}) == []
    errors = schema_errors(schema, {"room": "garage", "brightness": "40", "colour": "red"})
    assert any("state: required" in e for e in errors)
    assert any("'garage' is not one of" in e for e in errors)
    assert any("brightness: expected integer" in e for e in errors)
    assert any("colour: not a declared property" in e for e in errors)


def test_voices_are_never_the_agents_and_all_get_a_share() -> None:
    assert len(voices.EN_VOICES) >= 5
    assert not any(v.startswith("piper") for v in voices.EN_VOICES + voices.ZH_VOICES)
    with pytest.raises(voices.VoiceError, match="agent's own voice"):
        voices.check_voices(["piper:slow"])
    shares = Counter(voices.assign(len(data.select(["general"], "test")), voices.EN_VOICES))
    assert set(shares) == set(voices.EN_VOICES) and max(shares.values()) - min(shares.values()) <= 1


def test_bad_selection_is_a_clear_error() -> None:
    with pytest.raises(data.DataError, match="unknown split"):
        data.select(["general"], "train")
    with pytest.raises(data.DataError, match="unknown kind"):
        data.select(["weather"], "test")  # type: ignore[list-item]
