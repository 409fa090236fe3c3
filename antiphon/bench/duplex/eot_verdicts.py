"""What the cascade's end-of-turn rule would decide on a duplex scenario set, offline: at the
end of each complete question (turn_taking) and at each mid-clause pause (pause), the
transcript, smart-turn's P(complete), the chat model's P(<|im_end|>) and the silence the
rule would wait. Not real time, so the figures do not depend on how loaded the machine is
(a real-time run on a loaded machine mostly measures the load: a verdict still pending
makes the rule wait the longest silence).

    python -m antiphon.bench.duplex.eot_verdicts --seed 11 --per-category 20 --out FILE.json

A pause is "cut" when the rule's wait is shorter than the pause: the live agent would then
take the turn there (give or take the VAD's ~0.1 s to notice silence and speech again)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from antiphon.bench.duplex.scenarios import DEFAULT_SEED, RATE, load_set
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.conversation import Conversation, Message
from antiphon.cascade.responder import llm_prompt
from antiphon.cascade.stack import CascadeStack
from antiphon.cascade.turns import TurnVerdict
from antiphon.session.commands import TurnDetection

TAIL = np.zeros(RATE // 10, np.float32)  # the ~100 ms of silence the VAD needs to say "stop"


def verdict(stack: CascadeStack, audio: np.ndarray) -> dict[str, object]:
    """The rule's inputs and decision for a turn that has gone silent after ``audio``. The
    session has no tools (as in `bench duplex`, where the demo tools stay off)."""
    a = np.concatenate([audio, TAIL])
    text = stack.transcribe(a)
    acoustic = stack.complete_probability(a)
    words = None
    if text:
        conv = Conversation(stack.default_instructions(), language=stack.config.language)
        prompt = llm_prompt(conv, None, [Message("user", text)], [], stack.config.language)
        words = stack.end_of_turn_probability(prompt, [])
    wait = stack.config.end_of_turn.wait_ms(TurnDetection(), TurnVerdict(acoustic, words, False))
    return {"text": text, "acoustic": acoustic, "words": words, "wait_ms": wait}


def run(stack: CascadeStack, seed: int, per_category: int) -> dict[str, object]:
    rows: list[dict[str, object]] = []
    for s in load_set(per_category, ["turn_taking", "pause"], seed):
        part = s.parts[0]
        audio = s.audio(part)
        if s.category == "turn_taking":
            end = int(part.speech[-1][1] * RATE)
            rows.append({"id": s.id, "voice": part.voice, **verdict(stack, audio[:end])})
            continue
        for before, after in zip(part.speech, part.speech[1:], strict=False):
            gap = round(after[0] - before[1], 3)
            v = verdict(stack, audio[: int(before[1] * RATE)])
            cut = float(v["wait_ms"]) / 1000 < gap  # type: ignore[arg-type]
            rows.append({"id": s.id, "voice": part.voice, **v, "pause_s": gap, "cut": cut})
    turns = [r for r in rows if "pause_s" not in r]
    pauses = [r for r in rows if "pause_s" in r]
    waits = sorted(float(r["wait_ms"]) for r in turns)  # type: ignore[arg-type]
    summary = {
        "seed": seed,
        "turn_taking": len(turns),
        "turn_taking_wait_ms_p50": float(np.percentile(waits, 50)) if waits else None,
        "turn_taking_wait_counts": {str(w): waits.count(w) for w in sorted(set(waits))},
        "pauses": len(pauses),
        "pauses_cut": sum(1 for r in pauses if r["cut"]),
        "pause_scenarios": len({r["id"] for r in pauses}),
        "pause_scenarios_cut": len({r["id"] for r in pauses if r["cut"]}),
    }
    return {"summary": summary, "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--per-category", type=int, default=20)
    p.add_argument("--llm", default=CascadeConfig().llm)
    p.add_argument("--out", type=Path, help="write every verdict here (JSON)")
    args = p.parse_args()
    stack = CascadeStack(CascadeConfig(llm=args.llm))
    result = run(stack, args.seed, args.per_category)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
