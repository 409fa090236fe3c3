"""Where a turn's time goes: N in-process `bench quality` items of the tune half (with the
bench's tools), each model call (Whisper, smart-turn, the words' verdict, the tool judge,
the reply, piper) timestamped relative to the end of the user's speech, plus the KV-cache
reuse of every LLM pass. ARBITER=1 puts one lock around every Whisper decode and llama.cpp
evaluation (never both at once). Outputs: docs/runs/turn-profile-2026-12-06-*.log.

Run: .venv/bin/python tests/cascade/bench_turn_profile.py 14"""

import argparse
import asyncio
import functools
import os
import sys
import threading
import time

import numpy as np

from antiphon.apps.factory import load_stack
from antiphon.bench.duplex.link import RATE
from antiphon.bench.quality import bench, data, voices
from antiphon.bench.quality.links import QualitySessionLink, cascade_quality_link
from antiphon.bench.quality.runner import LEAD_IN_S, converse
from antiphon.cascade import (
    asr as asr_mod,
)
from antiphon.cascade import (
    llm as llm_mod,
)
from antiphon.cascade import (
    llm_verdicts,
    side_context,
    smart_turn,
)
from antiphon.cascade import (
    tts as tts_mod,
)
from antiphon.cascade.config import CascadeConfig

LOG = []


def wrap(cls, name, label=None):
    f = getattr(cls, name)

    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            LOG.append((t, time.perf_counter(), label or name, k.get("quick", "")))

    setattr(cls, name, g)


def wrap_gen(cls, name, label):
    f = getattr(cls, name)

    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        first = None
        for x in f(*a, **k):
            if first is None:
                first = time.perf_counter()
                LOG.append((t, first, label + ".first", ""))
            yield x
        LOG.append((t, time.perf_counter(), label + ".all", ""))

    setattr(cls, name, g)


wrap(asr_mod.StreamingASR, "transcribe_detailed", "asr")
wrap(llm_verdicts.ModelVerdicts, "_p_tool_locked", "judge")
wrap(llm_verdicts.ModelVerdicts, "_p_end_locked", "eot_words")
wrap(tts_mod.PiperTTS, "synthesize", "tts")
wrap(smart_turn.SmartTurn, "completion_probability", "smart")
wrap_gen(llm_mod.ChatLLM, "_stream_locked", "reply")
_reuse = llm_mod.ChatLLM._reuse_prefix


def reuse(self, tokens):
    t = time.perf_counter()
    kept = _reuse(self, tokens)
    LOG.append((t, t, f"kv {kept}/{len(tokens)}", ""))
    return kept


llm_mod.ChatLLM._reuse_prefix = reuse

_ntp = side_context.SideContext.next_token_probs


def ntp(self, tokens):
    t = time.perf_counter()
    r = _ntp(self, tokens)
    LOG.append((t, time.perf_counter(), f"side {len(tokens)}", ""))
    return r


side_context.SideContext.next_token_probs = ntp


if os.environ.get("ARBITER"):
    import llama_cpp

    CPU = threading.RLock()
    _eval = llama_cpp.Llama.eval

    def eval_locked(self, tokens):
        with CPU:
            return _eval(self, tokens)

    llama_cpp.Llama.eval = eval_locked
    _sdec = side_context.SideContext.next_token_probs
    _asr = asr_mod.StreamingASR.transcribe_detailed

    def asr_locked(*a, **k):
        with CPU:
            return _asr(*a, **k)

    asr_mod.StreamingASR.transcribe_detailed = asr_locked

    def side_locked(self, tokens):
        with CPU:
            return _sdec(self, tokens)

    side_context.SideContext.next_token_probs = side_locked
    print("ARBITER on")
n = int(sys.argv[1])
kinds = sys.argv[2].split(",") if len(sys.argv) > 2 else ["general", "tools", "plain"]
ns = argparse.Namespace(llm=None, language="en", demo_tools="off")

ns.llm = CascadeConfig().llm
stack = load_stack(ns)
items = data.select(kinds, "tune")
items = items[:: max(1, len(items) // n)][:n]
spoken = bench.prepare(
    items,
    list(voices.EN_VOICES),
    print,
)
tools = data.tool_set()
# warm with one item
sends = []
orig_send = QualitySessionLink.send


async def send(self, frame):
    sends.append(time.perf_counter())
    await orig_send(self, frame)


QualitySessionLink.send = send
asyncio.run(converse(cascade_quality_link(stack), spoken[0].audio, list(tools.tools)))
summary = {}
for sp in spoken:
    LOG.clear()
    sends.clear()
    got = asyncio.run(converse(cascade_quality_link(stack), sp.audio, list(tools.tools)))
    speech_end_s = LEAD_IN_S + len(sp.audio) / RATE
    k_end = int(np.ceil(speech_end_s * RATE / (RATE // 50)))
    t_end = sends[min(k_end, len(sends) - 1)]
    print(
        f"--- {sp.item.id} {sp.voice} v2v={got.voice_to_voice_ms and round(got.voice_to_voice_ms)} heard={got.heard!r} said={got.said[:50]!r}"
    )
    for t0, t1, lab, q in sorted(LOG):
        if t1 < t_end - 2.0:
            continue
        print(
            f"   {lab:12s}{'(q)' if q else '   '} {1000 * (t0 - t_end):7.0f} → {1000 * (t1 - t_end):7.0f}  ({1000 * (t1 - t0):5.0f} ms)"
        )
