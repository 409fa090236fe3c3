"""Benchmark scenarios: what the user plays, when, and where its speech is (the ground
truth the metrics compare against). A scenario set is generated from a seed and a version
string, and cached on disk (``~/.cache/antiphon/duplex/``): the same version and seed give
the same audio, sample for sample, on every machine."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from antiphon.audio.io import read_wav, write_wav

VERSION = "duplex-v4"  # bump when scenario generation changes: the cache key includes it
RATE = 16000
# Categories the detectors were not tuned on come last (appending keeps the others' seeds).
UNTUNED = ("soft_interruption", "unlisted_backchannel")
CATEGORIES = (
    "pause", "turn_taking", "interruption", "backchannel", "background", "echo", *UNTUNED
)  # fmt: skip
DEFAULT_SEED = 6  # the tuning seed: detector thresholds were set on this set; hold out others

When = Literal["start", "agent"]


class ScenarioError(ValueError):
    """Bad scenario request (unknown category, bad count) or a corrupt cache entry."""


@dataclass(frozen=True)
class Part:
    """One piece of the user's side. ``when="start"``: ``start_s`` after the scenario
    starts; ``when="agent"``: ``start_s`` after the agent's voice began (or after a timeout,
    if it never does)."""

    role: str  # question | interrupt | backchannel | side_talk | background | listen
    text: str
    voice: str
    wav: str  # file name in the scenario's folder
    when: When
    start_s: float
    duration_s: float
    speech: tuple[tuple[float, float], ...]  # voiced intervals inside the part (s)
    level_db: float = 0.0  # voiced level relative to the user's speech


@dataclass(frozen=True)
class EchoPath:
    """The agent's voice back into the microphone: impulse response file (delay and gain
    included)."""

    delay_ms: float
    gain_db: float
    ir_wav: str


@dataclass(frozen=True)
class Scenario:
    id: str
    category: str
    variant: str
    parts: tuple[Part, ...]
    tail_s: float  # recording continues this long after the last part ends
    echo: EchoPath | None = None
    folder: str = field(default="", compare=False)  # where its audio lives

    def audio(self, part: Part) -> np.ndarray:
        return read_wav(Path(self.folder) / part.wav, RATE)[0]

    def echo_ir(self) -> np.ndarray | None:
        if self.echo is None:
            return None
        return read_wav(Path(self.folder) / self.echo.ir_wav, RATE)[0]

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("folder")
        return d

    @staticmethod
    def from_json(d: dict, folder: str) -> Scenario:
        parts = tuple(
            Part(**{**p, "speech": tuple(tuple(s) for s in p["speech"])}) for p in d["parts"]
        )
        echo = EchoPath(**d["echo"]) if d.get("echo") else None
        return Scenario(
            d["id"], d["category"], d["variant"], parts, d["tail_s"], echo, folder=folder
        )


def cache_root() -> Path:
    root = os.environ.get("ANTIPHON_CACHE") or str(Path.home() / ".cache" / "antiphon")
    return Path(root) / "duplex"


def set_folder(seed: int, root: Path | None = None) -> Path:
    return (root or cache_root()) / f"{VERSION}-seed{seed}"


def check_categories(names: list[str] | None) -> list[str]:
    if not names:
        return list(CATEGORIES)
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown:
        raise ScenarioError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"choose from {', '.join(CATEGORIES)}"
        )
    return list(dict.fromkeys(names))


def load_set(
    per_category: int,
    categories: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    root: Path | None = None,
    progress: object = None,
) -> list[Scenario]:
    """The first ``per_category`` scenarios of each category, built once and then read from
    the cache. Scenario i of a category does not depend on how many are requested."""
    from antiphon.bench.duplex.build import build_scenario

    if per_category < 1:
        raise ScenarioError(f"scenarios per category must be at least 1; got {per_category}")
    folder = set_folder(seed, root)
    out: list[Scenario] = []
    for cat in check_categories(categories):
        for i in range(per_category):
            sid = f"{cat}-{i:03d}"
            sdir = folder / sid
            meta = sdir / "scenario.json"
            if meta.is_file():
                try:
                    out.append(Scenario.from_json(json.loads(meta.read_text()), str(sdir)))
                    continue
                except (KeyError, TypeError, ValueError) as exc:
                    raise ScenarioError(
                        f"corrupt cached scenario {meta}: {exc}; delete {folder} to rebuild"
                    ) from exc
            if callable(progress):
                progress(f"synthesizing scenario {sid}")
            rng = np.random.default_rng([seed, CATEGORIES.index(cat), i])
            scenario, audio = build_scenario(cat, i, rng, seed)
            tmp = folder / f".{sid}.tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            for name, a in audio.items():
                write_wav(tmp / name, a, RATE)
            (tmp / "scenario.json").write_text(json.dumps(scenario.to_json(), indent=1))
            tmp.replace(sdir)  # atomic: a half-written scenario is never read
            out.append(Scenario.from_json(scenario.to_json(), str(sdir)))
    return out


def voiced_intervals(
    audio: np.ndarray, rate: int = RATE, floor_db: float = -35.0, min_gap_s: float = 0.2
) -> tuple[tuple[float, float], ...]:
    """Where clean (dry, close-talk) speech is voiced: 10 ms frames within floor_db of the
    peak, joined across gaps shorter than min_gap_s."""
    hop = rate // 100
    n = len(audio) // hop
    if n == 0:
        return ()
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = 20 * np.log10(rms / (rms.max() + 1e-12)) > floor_db
    spans: list[list[float]] = []
    for i in np.nonzero(loud)[0]:
        t0, t1 = i * hop / rate, (i + 1) * hop / rate
        if spans and t0 - spans[-1][1] < min_gap_s:
            spans[-1][1] = t1
        else:
            spans.append([t0, t1])
    return tuple((round(float(a), 3), round(float(b), 3)) for a, b in spans)
