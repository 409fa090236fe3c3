"""The tiny recipe's evaluation against the issue's quality bar, on held-out dialogues.

* Codec: STOI and Whisper (tiny.en) WER of held-out utterances (both channels: the agent's
  voice and the user voices the codec trained on) after encode/decode at the LM's codebook
  count; Whisper's WER on the original audio is reported beside it.
* LM text: cross-entropy (nats per token) of the held-out agent's words under the model's
  text stream, teacher-forced on the dialogue (both audio streams and the text so far), with
  the distribution renormalised over word tokens (PAD/EPAD left out), against a unigram model
  of word tokens fitted on the training dialogues' text streams.
* Duplex: ``antiphon bench duplex`` pause and turn_taking categories, in process, with the
  exported folder as the end-to-end brain.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from antiphon.train.recipe import Recipe

BAR = {
    "codec_stoi": (">=", 0.80),
    "codec_wer": ("<=", 0.30),
    "monologue_wer": ("<=", 0.30),  # Whisper on the agent's audio vs its inner monologue
    "pause_takeover": ("<=", 0.20),
    "turn_taking_takeover": (">=", 0.80),
    "text_ce_gain_nats": (">", 0.0),
}


def evaluate(recipe: Recipe, deadline: float) -> dict[str, Any]:
    from antiphon.data.manifest import load_manifest
    from antiphon.e2e.stack import E2EStack
    from antiphon.e2e.tiny import TINY_SAMPLING
    from antiphon.train.recipe_exchanges import exchange_scores

    folder = recipe.model_dir
    out = recipe.out / "eval"
    out.mkdir(parents=True, exist_ok=True)
    records = load_manifest(recipe.data_dir)
    stack = E2EStack.load(folder, params=TINY_SAMPLING)
    t0 = time.monotonic()
    codec = codec_scores(stack, recipe.data_dir, records, recipe.scale.codec_utterances)
    t1 = time.monotonic()
    text = text_scores(stack, recipe.data_dir, folder, records)
    exchanges = exchange_scores(stack, recipe.data_dir, records, recipe.scale.exchanges)
    t2 = time.monotonic()
    remaining = deadline - time.monotonic()
    duplex = duplex_scores(stack, out / "bench", recipe.scale.bench_per_category, remaining)
    t3 = time.monotonic()
    figures = {
        "codec_stoi": codec["stoi"],
        "codec_wer": codec["wer"],
        "pause_takeover": duplex.get("pause_takeover"),
        "turn_taking_takeover": duplex.get("turn_taking_takeover"),
        "text_ce_gain_nats": text["gain_nats"],
        "monologue_wer": exchanges["monologue_wer"],
    }
    checks = {k: _meets(figures[k], *BAR[k]) for k in BAR}
    report: dict[str, Any] = {
        "model": str(folder),
        "scale": recipe.scale.name,
        "bar": {k: f"{op} {v}" for k, (op, v) in BAR.items()},
        "figures": figures,
        "met": checks,
        "bar_met": all(checks.values()),
        "codec": codec,
        "text": text,
        "exchanges": exchanges,
        "duplex": duplex,
        "sampling": TINY_SAMPLING.__dict__,
        "stages_s": {k: v.get("seconds") for k, v in recipe.state["stages"].items()},
        "eval_s": {
            "codec": round(t1 - t0, 1),
            "text and exchanges": round(t2 - t1, 1),
            "duplex": round(t3 - t2, 1),
        },
        "model_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 2),
    }
    for dest in (out, folder):
        (dest / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (dest / "report.md").write_text(markdown(report))
    bench_md = out / "bench" / "report.md"
    if bench_md.is_file() and (folder / "logs").is_dir():
        (folder / "logs" / "bench-duplex.md").write_text(bench_md.read_text())
    return report


def _meets(value: float | None, op: str, target: float) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return {">=": value >= target, "<=": value <= target, ">": value > target}[op]


# ---- codec --------------------------------------------------------------------------------
def held_out_utterances(
    root: Path, records: list[Any], n: int
) -> list[tuple[str, np.ndarray, str]]:
    """Up to ``n`` (speaker, mono 24 kHz audio, text) turns of >= 1 s from held-out
    dialogues, alternating agent and user turns so both voices count."""
    from antiphon.data.manifest import read_dialogue_audio

    by_speaker: dict[str, list[tuple[str, np.ndarray, str]]] = {"agent": [], "user": []}
    for rec in (r for r in records if r.split == "heldout"):
        stereo = read_dialogue_audio(root, rec)
        for t in rec.turns:
            if t.kind != "turn" or t.end - t.start < 1.0:
                continue
            ch = 0 if t.speaker == "agent" else 1
            a, b = int(t.start * rec.sample_rate), int(t.end * rec.sample_rate)
            by_speaker[t.speaker].append((t.speaker, stereo[a:b, ch].copy(), t.text))
    out: list[tuple[str, np.ndarray, str]] = []
    for pair in zip(by_speaker["agent"], by_speaker["user"], strict=False):
        out += list(pair)
    return out[:n]


@torch.inference_mode()
def codec_scores(stack: Any, root: Path, records: list[Any], n: int) -> dict[str, Any]:
    from antiphon.codec.metrics import stoi, transcribe, word_error_rate

    mimi, sr = stack.mimi, stack.sample_rate
    rows: list[dict[str, Any]] = []
    for speaker, ref, text in held_out_utterances(root, records, n):
        x = torch.from_numpy(ref).view(1, 1, -1)
        y = mimi.decode(mimi.encode(x))[0, 0, : len(ref)].float().numpy()
        s = stoi(y, ref, sr)
        hyp, hyp_ref = transcribe(y, sr), transcribe(ref, sr)
        rows.append(
            {
                "speaker": speaker,
                "text": text,
                "stoi": s,
                "wer": word_error_rate(text, hyp) if hyp is not None else None,
                "wer_original": word_error_rate(text, hyp_ref) if hyp_ref is not None else None,
                "heard": hyp,
            }
        )

    def mean(key: str, who: str | None = None) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None and who in (None, r["speaker"])]
        return round(float(np.mean(vals)), 4) if vals else None

    return {
        "utterances": len(rows),
        "codebooks": mimi.num_codebooks,
        "kbps": round(mimi.num_codebooks * math.log2(mimi.cardinality) * mimi.frame_rate / 1000, 3),
        "stoi": mean("stoi"),
        "wer": mean("wer"),
        "wer_original": mean("wer_original"),
        "stoi_agent": mean("stoi", "agent"),
        "stoi_user": mean("stoi", "user"),
        "wer_agent": mean("wer", "agent"),
        "wer_user": mean("wer", "user"),
        "rows": rows,
    }


# ---- LM text stream -----------------------------------------------------------------------
@torch.inference_mode()
def text_scores(stack: Any, root: Path, folder: Path, records: list[Any]) -> dict[str, Any]:
    from antiphon.lm.checkpoint import MIMI_NAME
    from antiphon.train.lm_data import LMData, cache_folder, encode_dataset

    lm, cfg = stack.lm, stack.lm.config
    codec = folder / MIMI_NAME
    encode_dataset(root, codec, "")  # no-op when the LM stage already encoded them
    cache = cache_folder(root, codec, "")

    def split(name: str) -> LMData:
        recs = [r for r in records if r.split == name]
        return LMData(recs, cache, stack.tokenizer, cfg, stack.mimi.frame_rate)

    pads = {cfg.text_padding_id, cfg.text_end_padding_id}
    words = torch.tensor([i for i in range(cfg.text_card) if i not in pads])
    counts = torch.ones(cfg.text_card, dtype=torch.float64)  # add-one smoothing
    for item in split("train").items:
        t = item[0]
        t = t[(t >= 0) & (t < cfg.text_card)]
        counts += torch.bincount(t, minlength=cfg.text_card).double()
    unigram = torch.log(counts[words] / counts[words].sum())
    index = torch.full((cfg.text_card,), -1, dtype=torch.long)
    index[words] = torch.arange(len(words))
    model_nll: list[float] = []
    uni_nll: list[float] = []
    hits = 0
    was_training = lm.training
    lm.eval()
    for item in split("heldout").items:
        for s in range(0, item.shape[1], cfg.context):
            codes = item[:, s : s + cfg.context].unsqueeze(0)
            out = lm(codes)
            target = codes[0, 0]
            ok = out.text_mask[0, 0] & (target >= 0) & (target < cfg.text_card)
            ok &= index[target.clamp(0, cfg.text_card - 1)] >= 0
            pos = torch.nonzero(ok).view(-1)
            if not len(pos):
                continue
            logits = out.text_logits[0, 0, pos][:, words].double()
            logp = torch.log_softmax(logits, dim=-1)
            tgt = index[target[pos]]
            model_nll += (-logp.gather(1, tgt.view(-1, 1)).view(-1)).tolist()
            uni_nll += (-unigram[tgt]).tolist()
            hits += int((logp.argmax(-1) == tgt).sum())
    lm.train(was_training)
    n = len(model_nll)
    m = float(np.mean(model_nll)) if n else float("nan")
    u = float(np.mean(uni_nll)) if n else float("nan")
    return {
        "tokens": n,
        "model_ce_nats": round(m, 4),
        "unigram_ce_nats": round(u, 4),
        "gain_nats": round(u - m, 4),
        "model_ppl": round(math.exp(m), 2) if n else None,
        "unigram_ppl": round(math.exp(u), 2) if n else None,
        "model_top1": round(hits / n, 4) if n else None,
    }


# ---- duplex bench -------------------------------------------------------------------------
def duplex_scores(stack: Any, out: Path, per_category: int, budget_s: float) -> dict[str, Any]:
    from antiphon.bench.duplex import bench
    from antiphon.bench.duplex.link import e2e_link
    from antiphon.bench.duplex.scenarios import DEFAULT_SEED, load_set

    # each take is real time (~10 s) plus analysis: fewer scenarios if the budget is short
    n = max(1, min(per_category, int(budget_s / 2 / 14)))
    scenarios = load_set(n, ["pause", "turn_taking"], DEFAULT_SEED)
    rep = bench.run(lambda: e2e_link(stack), scenarios, out, DEFAULT_SEED, False, lambda m: None)
    summary: dict[str, Any] = rep["summary"]  # type: ignore[assignment]
    tt = summary.get("turn_taking", {})
    return {
        "per_category": n,
        "pause_takeover": summary.get("pause", {}).get("takeover_rate"),
        "turn_taking_takeover": tt.get("takeover_rate"),
        "turn_taking_latency": {k: v for k, v in tt.items() if k.startswith("latency")},
        "record_s": rep["record_s"],
        "analyse_s": rep["analyse_s"],
        "report": str(out / "report.md"),
    }


def markdown(r: dict[str, Any]) -> str:
    from antiphon.train.recipe_exchanges import exchanges_markdown

    f, met, c, t, d = r["figures"], r["met"], r["codec"], r["text"], r["duplex"]
    ex = r["exchanges"]

    def row(key: str, label: str) -> str:
        v = f[key]
        shown = "n/a" if v is None else f"{v:.3f}"
        return f"| {label} | {shown} | {r['bar'][key]} | {'yes' if met[key] else 'no'} |"

    lines = [
        f"# Tiny model: evaluation ({r['scale']} recipe)",
        "",
        f"Model folder {r['model']}, {r['model_mb']} MB. Held-out synthetic dialogues.",
        "",
        "| figure | value | bar | met |",
        "| --- | --- | --- | --- |",
        row("codec_stoi", f"codec STOI ({c['utterances']} utterances, {c['codebooks']} codebooks)"),
        row("codec_wer", "codec WER, Whisper tiny.en"),
        row("pause_takeover", f"bench duplex pause takeover ({d['per_category']} takes)"),
        row(
            "turn_taking_takeover", f"bench duplex turn-taking takeover ({d['per_category']} takes)"
        ),
        row("text_ce_gain_nats", "text CE gain over unigram (nats/token)"),
        row(
            "monologue_wer",
            f"agent's audio vs its inner monologue, WER ({ex['exchanges']} exchanges)",
        ),
        "",
        f"Fitting replies (the local chat model's likelihood of the inner monologue after the"
        f" request, threshold {ex['judge']['threshold_nats']} nats/token fitted on training pairs"
        f" with accuracy {ex['judge']['tuning_accuracy']}): {ex['fitting']}; on what Whisper"
        f" heard: {ex['fitting_heard']}."
        f" {ex['replies_with_words']} of {ex['exchanges']} replies had words.",
        "",
        "Held-out exchanges (each held-out dialogue's user side up to the end of the user's"
        " request, their second turn, then 6 s of silence; the agent's words after the request):",
        "",
        exchanges_markdown(ex),
        "",
        f"Codec: {c['kbps']} kbps; STOI agent {c['stoi_agent']}, user {c['stoi_user']}; WER agent"
        f" {c['wer_agent']}, user {c['wer_user']}; Whisper on the original audio {c['wer_original']}.",
        f"Text stream: {t['tokens']} held-out word tokens; model {t['model_ce_nats']} nats/token"
        f" (perplexity {t['model_ppl']}, top-1 {t['model_top1']}), unigram {t['unigram_ce_nats']}"
        f" (perplexity {t['unigram_ppl']}).",
        f"Duplex: turn-taking latency {d['turn_taking_latency']}; bench report {d['report']}.",
        f"Sampling: {r['sampling']}.",
        f"Stage times (s): {r['stages_s']}; evaluation (s): {r['eval_s']}.",
        "",
    ]
    return "\n".join(lines)
