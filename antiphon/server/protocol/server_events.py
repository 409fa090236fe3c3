"""Realtime server events: their types are the `openai` SDK's own models (the GA
RealtimeServerEvent union), so antiphon and its clients share one definition.

Every event's name is checked when it is built (a misspelt or invented name fails at
once); antiphon's own events are named `x.antiphon.*` and sent only to clients that ask
for them. With ServerConfig.validate_events (the tests turn it on) every standard event is
validated against the SDK's model before it is sent."""

from __future__ import annotations

from typing import Any, get_args

from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from pydantic import BaseModel, ValidationError

EXTENSION_PREFIX = "x.antiphon."


def _models(union: Any) -> dict[str, type[BaseModel]]:
    """Event name -> the SDK's model, from the `type` literal of each member of the union
    (the SDK's discriminator is its own, so pydantic alone would try every member)."""
    models: dict[str, type[BaseModel]] = {}
    for model in get_args(get_args(union)[0]):
        assert issubclass(model, BaseModel), model
        for name in get_args(model.model_fields["type"].annotation):
            models[name] = model
    return models


SERVER_EVENT_MODELS = _models(RealtimeServerEvent)
SERVER_EVENT_TYPES = frozenset(SERVER_EVENT_MODELS)


class ServerEventError(ValueError):
    """An event antiphon was about to send that its clients' SDK would not accept."""


def check_name(kind: str) -> None:
    if kind not in SERVER_EVENT_TYPES and not kind.startswith(EXTENSION_PREFIX):
        raise ServerEventError(
            f"{kind!r} is not a Realtime server event (the openai SDK's RealtimeServerEvent)"
            f" nor an {EXTENSION_PREFIX}* extension"
        )


def validate(ev: dict[str, Any]) -> None:
    """Raise ServerEventError naming the event and its first problem."""
    check_name(ev["type"])
    if ev["type"].startswith(EXTENSION_PREFIX):
        return
    try:
        SERVER_EVENT_MODELS[ev["type"]].model_validate(ev)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ServerEventError(
            f"{ev['type']} does not match the SDK's model at {where}: {err['msg']}"
        ) from exc
