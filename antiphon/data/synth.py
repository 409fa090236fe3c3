"""``antiphon data synth``: a folder of synthetic two-party full-duplex dialogues.

Dialogue ``i`` draws everything (script, user voice, speeds, timing, split) from its own
Generator seeded with ``(seed, i)``, so a dataset is reproducible by seed and dialogue
``i`` does not change when more dialogues are asked for. LLM scripts are the exception:
they come from one llama.cpp session in order (seeded too, so still reproducible).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.data.align import WordAligner
from antiphon.data.layout import RATE, Placed, TimingConfig, lay_out, mix, turns_and_words
from antiphon.data.manifest import (
    MANIFEST,
    SUMMARY,
    DialogueRecord,
    Word,
    manifest_line,
    write_dialogue_audio,
)
from antiphon.data.scripts import Script, file_scripts, llm_scripts, read_scripts, template_scripts
from antiphon.data.voices import AGENT_VOICE, USER_VOICES, Voice, make_voice, trim_silence
from antiphon.models import DEFAULT_LLM


@dataclass(frozen=True)
class SynthConfig:
    dialogues: int = 10
    seed: int = 0
    scripts_file: str | None = None
    llm_scripts: bool = False
    llm_model: str = DEFAULT_LLM  # key of antiphon.models.LLM_MODELS
    heldout_fraction: float = 0.1
    max_seconds: float | None = None  # stop adding turns past this length
    max_turns: int | None = None  # use only the first N turns of each script
    alignment: str = "whisper"  # or "proportional" (no Whisper: fast)
    agent_voice: str = AGENT_VOICE
    user_voices: tuple[str, ...] = USER_VOICES
    timing: TimingConfig = field(default_factory=TimingConfig)

    def check(self) -> None:
        if self.dialogues < 1:
            raise ValueError(f"--dialogues must be >= 1, got {self.dialogues}")
        if not 0.0 <= self.heldout_fraction <= 1.0:
            raise ValueError(f"--heldout-fraction must be in [0, 1], got {self.heldout_fraction}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"--max-seconds must be > 0, got {self.max_seconds}")
        if self.max_turns is not None and self.max_turns < 2:
            raise ValueError(f"--max-turns must be >= 2, got {self.max_turns}")
        if self.alignment not in ("whisper", "proportional"):
            raise ValueError(f"alignment must be whisper or proportional, got {self.alignment!r}")
        if not self.user_voices:
            raise ValueError("at least one user voice is needed")


class Renderer:
    """Speaks text in a dialogue's two voices and times its words."""

    def __init__(self, aligner: WordAligner, voices: dict[str, Voice]) -> None:
        self.aligner, self.voices = aligner, voices

    def __call__(self, speaker: str, text: str, speed: float) -> tuple[np.ndarray, list[Word], str]:
        audio = trim_silence(self.voices[speaker].render(text, speed))
        if len(text.split()) == 1:  # backchannels: the word is the whole utterance
            return audio, [Word(text, 0.0, len(audio) / RATE)], "proportional"
        words, method = self.aligner.align(audio, text)
        return audio, words, method


def _script_source(cfg: SynthConfig) -> Iterator[Script] | None:
    if cfg.scripts_file:
        return file_scripts(read_scripts(cfg.scripts_file))
    if cfg.llm_scripts:
        from antiphon.models import LLM_MODELS

        model = LLM_MODELS[cfg.llm_model]()
        return llm_scripts(
            np.random.default_rng([cfg.seed, 1 << 30]), model, cfg.seed, cfg.max_turns
        )
    return None  # templates, drawn from each dialogue's own generator


def _is_heldout(i: int, fraction: float) -> bool:
    """Every (1/fraction)-th dialogue: an exact share, and dialogue i's split never depends
    on how many dialogues were asked for."""
    return int((i + 1) * fraction + 1e-9) > int(i * fraction + 1e-9)


@dataclass(frozen=True)
class _Rendered:
    record: DialogueRecord
    placed: list[Placed]
    stereo: np.ndarray
    source: str


class _DialogueMaker:
    """Renders and writes dialogue ``i``: everything it draws comes from its own Generator,
    so the same dialogue comes out in any process and in any order."""

    def __init__(self, out: Path, cfg: SynthConfig) -> None:
        self.out, self.cfg = out, cfg
        self.aligner = WordAligner(use_whisper=cfg.alignment == "whisper")
        self.agent_voice = make_voice(cfg.agent_voice)
        self.user_voices = {name: make_voice(name) for name in cfg.user_voices}

    def __call__(self, i: int, script: Script | None) -> _Rendered:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, i])
        if script is None:
            script = next(template_scripts(rng))
        turns = script.turns[: cfg.max_turns] if cfg.max_turns else script.turns
        user_name = cfg.user_voices[int(rng.integers(len(cfg.user_voices)))]
        render = Renderer(
            self.aligner, {"agent": self.agent_voice, "user": self.user_voices[user_name]}
        )
        placed = lay_out(turns, render, cfg.timing, rng, cfg.max_seconds)
        stereo = mix(placed, float(rng.uniform(*cfg.timing.tail_s)))
        turn_list, words = turns_and_words(placed)
        record = DialogueRecord(
            id=f"d{i:05d}",
            audio=f"audio/d{i:05d}.wav",
            num_samples=len(stereo),
            turns=tuple(turn_list),
            words={k: tuple(v) for k, v in words.items()},
            voices={"agent": cfg.agent_voice, "user": user_name},
            split="heldout" if _is_heldout(i, cfg.heldout_fraction) else "train",
        )
        write_dialogue_audio(self.out, record, stereo)
        return _Rendered(record, placed, stereo, script.source)


_maker: _DialogueMaker | None = None  # a worker process's own voices


def _start_worker(out: Path, cfg: SynthConfig) -> None:
    global _maker
    _maker = _DialogueMaker(out, cfg)


def _make_in_worker(job: tuple[int, Script | None]) -> _Rendered:
    assert _maker is not None, "worker started without _start_worker"
    return _maker(*job)


def synth_dataset(
    out_dir: str | Path, cfg: SynthConfig, progress: bool = True, workers: int = 1
) -> dict[str, Any]:
    """Write the dataset folder; returns the summary (also written to summary.json).

    ``workers`` > 1 renders dialogues in that many processes (synthesis is one thread per
    dialogue); the folder is the same as with one. Scripts from a file or the LLM are still
    drawn here, in order."""
    from tqdm import tqdm

    cfg.check()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "audio").mkdir(exist_ok=True)
    probe = out / ".write-test"
    probe.write_text("")  # fail now, not after minutes of synthesis
    probe.unlink()
    scripts = _script_source(cfg)
    jobs = ((i, next(scripts) if scripts is not None else None) for i in range(cfg.dialogues))
    stats = _Stats()
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        if workers == 1:
            maker = _DialogueMaker(out, cfg)
            results: Iterator[_Rendered] = (maker(i, script) for i, script in jobs)
        else:
            # spawn: the parent may hold torch's or llama.cpp's threads, which fork would copy
            pool = multiprocessing.get_context("spawn").Pool(
                workers, initializer=_start_worker, initargs=(out, cfg)
            )
            stack.callback(pool.terminate)
            results = pool.imap(_make_in_worker, jobs)  # in order
        for done in tqdm(
            results, total=cfg.dialogues, desc="dialogues", unit="dlg", disable=not progress
        ):
            lines.append(manifest_line(done.record))
            stats.add(done.record, done.placed, done.stereo, done.source)
    (out / MANIFEST).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    summary = stats.summary(cfg)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


class _Stats:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.count: Counter[str] = Counter()
        self.gaps: list[float] = []
        self.overlap_s = 0.0
        self.speech_s = {"agent": 0.0, "user": 0.0}

    def add(self, rec: DialogueRecord, placed: list[Placed], stereo: np.ndarray, src: str) -> None:
        self.seconds += rec.duration
        self.count["dialogues"] += 1
        self.count[f"split_{rec.split}"] += 1
        self.count[f"voice_user_{rec.voices['user']}"] += 1
        self.count[f"script_{src.split(':')[0]}"] += 1
        for t in rec.turns:
            self.count[f"kind_{t.kind}"] += 1
            self.count[f"alignment_{t.alignment}"] += 1
        self.count["pauses_in_turns"] += sum(p.pauses for p in placed)
        self.count["words_agent"] += len(rec.words["agent"])
        self.count["words_user"] += len(rec.words["user"])
        main = sorted((p for p in placed if p.kind != "backchannel"), key=lambda p: p.start)
        for a, b in zip(main, main[1:], strict=False):
            if a.speaker != b.speaker:
                self.gaps.append(b.start - a.end)
        active = np.abs(stereo) > 0
        self.overlap_s += float(np.sum(active[:, 0] & active[:, 1])) / RATE
        for name in ("agent", "user"):
            self.speech_s[name] += sum(p.end - p.start for p in placed if p.speaker == name)

    def summary(self, cfg: SynthConfig) -> dict[str, Any]:
        gaps = np.array(self.gaps) if self.gaps else np.zeros(1)
        r = lambda x: round(float(x), 3)  # noqa: E731
        c = self.count
        return {
            "hours": r(self.seconds / 3600),
            "seconds": r(self.seconds),
            "dialogues": c["dialogues"],
            "split": {"train": c["split_train"], "heldout": c["split_heldout"]},
            "turns": c["kind_turn"] + c["kind_interruption"],
            "interruptions": c["kind_interruption"],
            "backchannels": c["kind_backchannel"],
            "overlapping_turn_starts": int(np.sum(gaps < 0)) - c["kind_interruption"],
            "pauses_in_turns": c["pauses_in_turns"],
            "gap_s": {
                "mean": r(gaps.mean()),
                "median": r(np.median(gaps)),
                "p10": r(np.percentile(gaps, 10)),
                "p90": r(np.percentile(gaps, 90)),
                "negative_fraction": r(np.mean(gaps < 0)),
            },
            "overlap_seconds": r(self.overlap_s),
            "overlap_fraction": r(self.overlap_s / max(self.seconds, 1e-9)),
            "speech_seconds": {k: r(v) for k, v in self.speech_s.items()},
            "words": {"agent": c["words_agent"], "user": c["words_user"]},
            "alignment": {
                "whisper": c["alignment_whisper"],
                "proportional": c["alignment_proportional"],
            },
            "user_voices": {k[11:]: v for k, v in sorted(c.items()) if k.startswith("voice_user_")},
            "scripts": {k[7:]: v for k, v in sorted(c.items()) if k.startswith("script_")},
            "seed": cfg.seed,
            "config": asdict(cfg),
        }


def format_summary(s: dict[str, Any]) -> str:
    g = s["gap_s"]
    return (
        f"{s['dialogues']} dialogues, {s['seconds'] / 60:.1f} min ({s['hours']:.3f} h); "
        f"split train {s['split']['train']} / heldout {s['split']['heldout']}\n"
        f"turns {s['turns']} (interruptions {s['interruptions']}, overlapping starts "
        f"{s['overlapping_turn_starts']}), backchannels {s['backchannels']}, "
        f"pauses in turns {s['pauses_in_turns']}\n"
        f"gaps: mean {g['mean']:.2f} s, median {g['median']:.2f} s, p10 {g['p10']:.2f} s, "
        f"p90 {g['p90']:.2f} s, {100 * g['negative_fraction']:.0f}% negative; "
        f"both speaking {100 * s['overlap_fraction']:.1f}% of the time\n"
        f"word timing: {s['alignment']['whisper']} turns by Whisper, "
        f"{s['alignment']['proportional']} proportional; user voices {s['user_voices']}"
    )
