"""Held-out exchanges with the end-to-end model: does it say words, and fitting ones?

For each of the first held-out dialogues, the user's side up to the end of their request
(their second turn, after the greeting) is played to a fresh ``FrameEngine`` in 80 ms
frames, then silence, and the agent's inner monologue (its text tokens) and its audio after
the request are kept. Whisper tiny.en transcribes that audio: the word error rate
of the transcript against the monologue says whether the model speaks what it writes (issue
17's bar: <= 30 %). The local chat model (Qwen2.5-1.5B, the cascade's) judges whether the
monologue is a fitting reply to the user's words by how likely it finds it (``FitJudge``):
a judgement of the model's answer, not a keyword match.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _user_turns(root: Path, records: list[Any], n: int) -> list[tuple[str, np.ndarray, int, str]]:
    """(dialogue id, the user channel from the start to the end of the user's second turn as
    24 kHz mono, the sample where that turn ends, its words) of up to ``n`` held-out
    dialogues. The second turn is the request after the greeting; the model hears the whole
    user side up to it and answers the greeting in its own way first."""
    from antiphon.data.manifest import read_dialogue_audio

    out = []
    for rec in (r for r in records if r.split == "heldout"):
        turns = [t for t in rec.turns if t.speaker == "user" and t.kind == "turn"]
        if not turns:
            continue
        turn = turns[min(1, len(turns) - 1)]
        stereo = read_dialogue_audio(root, rec)
        b = int(turn.end * rec.sample_rate)
        out.append((rec.id, stereo[:b, 1].copy(), b, turn.text))
        if len(out) == n:
            break
    return out


@torch.inference_mode()
def _converse(
    stack: Any, user: np.ndarray, reply_from: int, tail_s: float, seed: int
) -> tuple[str, np.ndarray]:
    """The user's audio then ``tail_s`` of silence -> (monologue, agent audio) from the
    frame that holds sample ``reply_from`` on."""
    from antiphon.e2e.stack import FrameEngine

    torch.manual_seed(seed)
    engine = FrameEngine(stack)
    fs = stack.frame_size
    frames = -(-len(user) // fs) + int(tail_s * stack.mimi.frame_rate)
    pcm = np.zeros(frames * fs, np.float32)
    pcm[: len(user)] = user
    pieces, audio = [], []
    for i in range(frames):
        out = engine.step(pcm[i * fs : (i + 1) * fs])
        if (i + 1) * fs <= reply_from:
            continue
        audio.append(out.audio)
        if out.text_token >= 0 and stack.tokenizer.is_word(out.text_token):
            pieces.append(stack.tokenizer.piece(out.text_token))
    return " ".join("".join(pieces).split()), np.concatenate(audio)


class FitJudge:
    """Does the local chat model find a reply likely after the user's words?

    Asked yes/no, the 1.5B model says yes to most babble (8 of 10 replies of the old tiny
    model, made-up words and all; docs/training.md). Its likelihood separates: the score is
    the mean log-probability per token of the reply as the assistant's turn after the
    user's words, and the line between fitting and not is fitted on the training
    dialogues (``calibrate``): their real replies against the same replies after another
    dialogue's request and with their words' inner letters reversed (made-up words).
    """

    def __init__(self, threads: int = 2) -> None:
        from llama_cpp import Llama

        from antiphon.models import qwen_1_5b_gguf

        self._llm = Llama(
            model_path=str(qwen_1_5b_gguf()),
            n_ctx=512,
            n_threads=threads,
            n_threads_batch=threads,
            logits_all=True,
            verbose=False,
        )
        self.threshold = math.nan
        self.tuning_accuracy = math.nan

    def score(self, user: str, reply: str) -> float:
        """Mean log P(reply token | chat prompt, reply so far), nats per token."""
        prompt = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        head = self._llm.tokenize(prompt.encode(), add_bos=False, special=True)
        body = self._llm.tokenize(reply.strip().encode(), add_bos=False, special=False)
        if not body:
            return -math.inf
        tokens = (head + body)[-self._llm.n_ctx() :]
        self._llm.reset()
        self._llm.eval(tokens)
        logits = np.asarray(self._llm.scores[len(tokens) - len(body) - 1 : len(tokens) - 1])
        top = logits.max(-1, keepdims=True)
        logp = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
        return float(np.mean(logp[np.arange(len(body)), body]))

    def calibrate(self, fitting: list[tuple[str, str]], unfitting: list[tuple[str, str]]) -> float:
        """The threshold that classifies the tuning pairs best (midway between scores)."""
        pos = [self.score(u, r) for u, r in fitting]
        neg = [self.score(u, r) for u, r in unfitting]
        cuts = sorted(pos + neg)
        best, best_acc = cuts[0] - 1.0, -1.0
        for a, b in zip(cuts, cuts[1:], strict=False):
            t = (a + b) / 2
            acc = (sum(x >= t for x in pos) + sum(x < t for x in neg)) / len(cuts)
            if acc > best_acc:
                best, best_acc = t, acc
        self.threshold, self.tuning_accuracy = best, best_acc
        return best

    def fits(self, user: str, reply: str) -> bool:
        if math.isnan(self.threshold):
            raise RuntimeError("FitJudge.calibrate first: the threshold comes from tuning pairs")
        return bool(reply.strip()) and self.score(user, reply) >= self.threshold


def made_up_words(text: str) -> str:
    """Each word of four or more letters with its inner letters reversed ("garden" ->
    "gedran"): the shape of a sentence, made of words that do not exist."""
    return " ".join(w[0] + w[1:-1][::-1] + w[-1] if len(w) >= 4 else w for w in text.split())


def tuning_pairs(
    records: list[Any], n: int = 30
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Training dialogues' (request, reply) pairs, and unfitting ones made from them."""
    pairs = []
    for rec in (r for r in records if r.split == "train"):
        turns = [t for t in rec.turns if t.kind == "turn"]
        for a, b in zip(turns, turns[1:], strict=False):
            if a.speaker == "user" and b.speaker == "agent" and len(b.text.split()) >= 4:
                pairs.append((a.text, b.text))
                break  # one pair per dialogue: many dialogues, not many turns of one
        if len(pairs) == n:
            break
    k = max(1, len(pairs) // 2)
    fitting = pairs
    unfitting = [(u, pairs[(i + k) % len(pairs)][1]) for i, (u, _) in enumerate(pairs)]
    unfitting += [(u, made_up_words(r)) for u, r in pairs]
    return fitting, unfitting


@dataclass(frozen=True)
class Exchange:
    dialogue: str
    user: str  # the user's words (the script)
    monologue: str  # the agent's text tokens
    heard: str  # Whisper tiny.en on the agent's audio
    wer: float | None  # heard vs monologue (None: no words to speak)
    fits: bool  # the chat model's verdict on the monologue
    fits_heard: bool  # ... on what Whisper heard


def exchange_scores(
    stack: Any, root: Path, records: list[Any], n: int = 10, tail_s: float = 6.0, seed: int = 0
) -> dict[str, Any]:
    from antiphon.codec.metrics import transcribe, word_error_rate

    judge = FitJudge()
    judge.calibrate(*tuning_pairs(records))
    rows: list[Exchange] = []
    for i, (dialogue, user, turn_end, words) in enumerate(_user_turns(root, records, n)):
        monologue, audio = _converse(stack, user, turn_end, tail_s, seed + i)
        heard = (transcribe(audio, stack.sample_rate) or "").strip()
        wer = word_error_rate(monologue, heard) if monologue else None
        fits, fits_heard = judge.fits(words, monologue), judge.fits(words, heard)
        rows.append(Exchange(dialogue, words, monologue, heard, wer, fits, fits_heard))
    # pooled over words: a one-word reply does not weigh like a sentence
    weighted = [(r.wer, len(r.monologue.split())) for r in rows if r.wer is not None]
    words_total = sum(w for _, w in weighted)

    def share(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "exchanges": len(rows),
        "replies_with_words": len(weighted),
        "monologue_wer": round(sum(e * w for e, w in weighted) / words_total, 4)
        if words_total
        else None,
        "fitting": share([r.fits for r in rows]),
        "fitting_heard": share([r.fits_heard for r in rows]),
        "judge": {
            "threshold_nats": round(judge.threshold, 3),
            "tuning_accuracy": round(judge.tuning_accuracy, 3),
        },  # fmt: skip
        "rows": [asdict(r) for r in rows],
    }


def exchanges_markdown(ex: dict[str, Any]) -> str:
    lines = [
        "| # | the user said | the agent's inner monologue | Whisper heard the agent say |"
        " WER | fitting |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(ex["rows"], 1):
        wer = "-" if r["wer"] is None else f"{100 * r['wer']:.0f} %"
        lines.append(
            f"| {i} | {r['user']} | {r['monologue'] or '(silent)'} | {r['heard'] or '(nothing)'}"
            f" | {wer} | {'yes' if r['fits'] else 'no'} |"
        )
    return "\n".join(lines)
