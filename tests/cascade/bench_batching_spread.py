"""Which end-of-turn probability the single context gives for one prompt, depending only on
how its tokens were batched (the spread behind test_llm_batch's bound).
Run: .venv/bin/python tests/cascade/bench_batching_spread.py"""

from antiphon.agent.persona import default_instructions
from antiphon.cascade.llm import ChatLLM, Message
from antiphon.models import qwen_1_5b_gguf

SYSTEM = Message("system", default_instructions("en"))
msgs = [SYSTEM, Message("user", "What is the capital of France?")]
q = [SYSTEM, Message("user", "What is the capital of Italy?")]
for label, nb, snaps, warm in (
    ("fresh, one eval", 256, False, False),
    ("after another question, no snapshots", 256, False, True),
    ("after another question, snapshots", 256, True, True),
    ("fresh, n_batch 64", 64, False, False),
    ("fresh, n_batch 32", 32, False, False),
):
    llm = ChatLLM(qwen_1_5b_gguf(), n_threads=1, n_ctx=2048, n_batch=nb)
    if not snaps:
        llm._snapshots.min_tokens = 10**9
    if warm:
        llm.complete(q, temperature=0.0, max_tokens=8)
    print(f"{label:40} P(end) = {llm.end_of_turn_probability(msgs):.4f}", flush=True)
