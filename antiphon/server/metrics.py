"""Prometheus metrics of one server process (`/metrics`).

Sessions, per-stage latency (after the end of the user's speech), the model workers' queue
depths and waits, late (underrun) and dropped output, refused input and connections, and
error events by code. Counters that other parts keep as plain numbers (server stats, the
model workers, each session's pacer) are read at scrape time, so the hot paths never call
into prometheus_client."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from antiphon.session.events import ErrorEvent, Event, Metrics

if TYPE_CHECKING:
    from antiphon.cascade.workers import StackWorkers
    from antiphon.server.context import Stats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# the stage marks a response reports (ms after the end of the user's speech)
STAGES = (
    "eot_ms",
    "asr_final_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "first_audio_out_ms",
)
BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 30.0)


class _Live(Collector):
    """Gauges and counters read from live objects at scrape time."""

    def __init__(self, owner: ServerMetrics) -> None:
        self.owner = owner

    def collect(self) -> Iterable[Metric]:
        o = self.owner
        st = o.stats
        yield GaugeMetricFamily("antiphon_sessions_open", "Sessions open now", st.sessions_open)
        yield CounterMetricFamily(
            "antiphon_sessions", "Sessions opened since start", st.sessions_total
        )
        yield GaugeMetricFamily(
            "antiphon_draining", "1 while the server drains (SIGTERM)", 1.0 if o.draining() else 0.0
        )
        yield CounterMetricFamily(
            "antiphon_dropped_audio_messages",
            "Audio messages dropped for clients that read too slowly",
            st.dropped_audio_messages,
        )
        yield CounterMetricFamily(
            "antiphon_protocol_closes",
            "Connections closed for a protocol error",
            st.protocol_closes,
        )
        late_frames, late_s, refused, refused_s = o.session_totals()
        yield CounterMetricFamily(
            "antiphon_late_output_frames",
            "Output underruns: playback ran dry in the middle of a response",
            late_frames,
        )
        yield CounterMetricFamily(
            "antiphon_late_output_seconds", "Total length of those gaps", late_s
        )
        yield CounterMetricFamily(
            "antiphon_input_refused_appends",
            "Audio appends refused for running ahead of real time",
            refused,
        )
        yield CounterMetricFamily(
            "antiphon_input_refused_audio_seconds", "Audio in the refused appends", refused_s
        )
        if o.workers is not None:
            depth = GaugeMetricFamily(
                "antiphon_model_queue_depth", "Model calls waiting", labels=["model"]
            )
            busy = CounterMetricFamily(
                "antiphon_model_busy_seconds",
                "Time each model worker spent running calls",
                labels=["model"],
            )
            skipped = CounterMetricFamily(
                "antiphon_model_calls_skipped",
                "Model calls withdrawn before they ran (cancelled, session gone)",
                labels=["model"],
            )
            for name, w in o.workers.all().items():
                depth.add_metric([name], w.depth())
                busy.add_metric([name], w.stats.busy_s)
                skipped.add_metric([name], w.stats.skipped)
            yield depth
            yield busy
            yield skipped


class ServerMetrics:
    def __init__(
        self,
        stats: Stats,
        workers: StackWorkers | None = None,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.stats = stats
        self.workers = workers
        self.draining = draining
        self.registry = CollectorRegistry()
        self.stage_latency = Histogram(
            "antiphon_stage_latency_seconds",
            "Time from the end of the user's speech to each stage of the response",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "antiphon_model_queue_wait_seconds",
            "Time a model call waited for its worker",
            ["model"],
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.refusals = Counter(
            "antiphon_refused_connections",
            "Connections refused (server full, draining)",
            ["reason"],
            registry=self.registry,
        )
        self.errors = Counter(
            "antiphon_error_events",
            "Error events sent to clients",
            ["code"],
            registry=self.registry,
        )
        # totals of closed sessions, plus the live ones read at scrape time
        self._closed = [0, 0.0, 0, 0.0]
        self._live: list[Callable[[], tuple[int, float, int, float]]] = []
        self.registry.register(_Live(self))

    # ---- feeding -----------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        """Every event a session emits passes here (cheap: two isinstance checks)."""
        if isinstance(event, Metrics):
            for stage, ms in event.values.items():
                if stage in STAGES:
                    self.stage_latency.labels(stage).observe(ms / 1000.0)
        elif isinstance(event, ErrorEvent):
            self.errors.labels(event.code).inc()

    def track_session(
        self, counters: Callable[[], tuple[int, float, int, float]]
    ) -> Callable[[], None]:
        """Count a session's (late frames, late s, refused appends, refused s); call the
        returned function when it closes (its totals are kept)."""
        self._live.append(counters)

        def closed() -> None:
            if counters in self._live:
                self._live.remove(counters)
                for i, v in enumerate(counters()):
                    self._closed[i] += v

        return closed

    def session_totals(self) -> tuple[int, float, int, float]:
        rows = [c() for c in self._live]
        return (
            int(self._closed[0]) + sum(r[0] for r in rows),
            float(self._closed[1]) + sum(r[1] for r in rows),
            int(self._closed[2]) + sum(r[2] for r in rows),
            float(self._closed[3]) + sum(r[3] for r in rows),
        )

    def render(self) -> bytes:
        if self.workers is not None:
            for name, w in self.workers.all().items():
                waits, w.stats.waits = w.stats.waits, []
                for s in waits:
                    self.queue_wait.labels(name).observe(s)
        return generate_latest(self.registry)
