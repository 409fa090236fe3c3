"""What every connection of one server process shares: settings, the session factory (the
models behind it load once) and live counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from antiphon.server.config import ServerConfig
from antiphon.server.metrics import ServerMetrics
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
    workers: object | None = None  # the cascade's StackWorkers, for /metrics
    draining_since: float | None = None  # set by SIGTERM (server/ops.py)
    metrics: ServerMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = ServerMetrics(
            self.stats,
            self.workers,  # type: ignore[arg-type]
            lambda: self.draining,
        )

    def full(self) -> bool:
        return self.stats.sessions_open >= self.config.max_sessions

    @property
    def draining(self) -> bool:
        return self.draining_since is not None

    def observed(self, session: Session) -> Session:
        """Feed this session's events and counters to /metrics."""
        session.observe = self.metrics.observe
        session.on_close.append(self.metrics.track_session(session.counters))
        return session


def cascade_context(stack: object, config: ServerConfig) -> ServerContext:
    """A context whose sessions run the cascade on a shared, already loaded stack."""
    from antiphon.cascade.brain import CascadeBrain
    from antiphon.cascade.stack import CascadeStack
    from antiphon.cascade.workers import workers_of

    assert isinstance(stack, CascadeStack)

    def make() -> Session:
        return ctx.observed(
            Session(
                CascadeBrain(stack),
                lead_ms=config.lead_ms,
                max_input_lead_ms=config.max_input_lead_ms,
                max_event_queue=config.max_event_queue,
            )
        )

    name = f"antiphon-cascade-{stack.config.llm}"
    ctx = ServerContext(
        config, make, model_name=name, language=stack.config.language, workers=workers_of(stack)
    )
    return ctx


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
