"""What every connection of one server process shares: settings, the session factory (the
models behind it load once) and live counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from antiphon.server.config import ServerConfig
from antiphon.session.session import Session


@dataclass
class Stats:
    sessions_open: int = 0
    sessions_total: int = 0
    dropped_audio_messages: int = 0
    errors_sent: int = 0
    protocol_closes: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class ServerContext:
    config: ServerConfig
    new_session: Callable[[], Session]
    model_name: str = "antiphon-cascade"
    language: str = "en"
    stats: Stats = field(default_factory=Stats)

    def full(self) -> bool:
        return self.stats.sessions_open >= self.config.max_sessions


def cascade_context(stack: object, config: ServerConfig) -> ServerContext:
    """A context whose sessions run the cascade on a shared, already loaded stack."""
    from antiphon.cascade.brain import CascadeBrain
    from antiphon.cascade.stack import CascadeStack

    assert isinstance(stack, CascadeStack)

    def make() -> Session:
        return Session(CascadeBrain(stack), lead_ms=config.lead_ms)

    name = f"antiphon-cascade-{stack.config.llm}"
    return ServerContext(config, make, model_name=name, language=stack.config.language)


def e2e_context(stack: object, config: ServerConfig, brain: str = "moshi") -> ServerContext:
    """A context whose sessions run an end-to-end speech model on a shared, loaded stack.
    The model hears its input at the codec rate; echo cancellation runs there too.
    ``brain``: "moshi" (a checkpoint folder) or "tiny" (the shipped tiny model)."""
    from antiphon.e2e.brain import E2EBrain
    from antiphon.e2e.stack import E2EStack

    assert isinstance(stack, E2EStack)

    def make() -> Session:
        return Session(E2EBrain(stack), lead_ms=config.lead_ms)

    name = "antiphon-tiny" if brain == "tiny" else f"antiphon-moshi-{stack.name}"
    return ServerContext(config, make, model_name=name)
