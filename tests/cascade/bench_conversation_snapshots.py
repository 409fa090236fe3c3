"""Two sessions with the same system prompt take turns on one ChatLLM (as two people talking
to one `antiphon serve` do): each turn's first-token time and evaluated tokens, with the
conversations kept as KV snapshots (cascade/prompt_snapshots.py) and with system blocks only.
Qwen2.5-Coder-1.5B, 2 threads, greedy. Run:
.venv/bin/python tests/cascade/bench_conversation_snapshots.py"""

from antiphon.agent.chatml import Message
from antiphon.agent.persona import default_instructions
from antiphon.cascade.llm import ChatLLM
from antiphon.models import LLM_MODELS

QUESTIONS = {
    "A": ["What is the capital of France?", "And of Italy?", "Which of the two is larger?"],
    "B": ["Name a primary color.", "Name another one.", "What do you get if you mix them?"],
}

llm = ChatLLM(LLM_MODELS["qwen1.5b"](), n_threads=2, n_ctx=4096)
system = default_instructions("en")
for mode in ("conversations", "system blocks only"):
    snaps = llm._snapshots
    snaps.conversations = mode == "conversations"
    snaps._saved.clear()
    snaps.restored = 0
    llm.warmup(system)  # the system block is cached and saved, as `serve` does
    history = {k: [Message("system", system)] for k in QUESTIONS}
    rows = []
    for turn in range(3):
        for who in ("A", "B"):
            history[who].append(Message("user", QUESTIONS[who][turn]))
            reply = "".join(llm.stream(history[who], max_tokens=60, temperature=0.0))
            stats = llm.last_stats
            assert stats is not None
            llm._thread.submit(lambda: None).result()  # the next turn's opening, kept
            history[who].append(Message("assistant", reply))
            rows.append((who, turn + 1, stats.first_token_s, stats.evaluated_tokens, reply))
    print(f"## {mode}", flush=True)
    for who, turn, first_s, evaluated, reply in rows:
        print(f"{who}{turn}: first token {1000 * first_s:5.0f} ms, evaluated {evaluated:3d} "
              f"tokens  {reply[:60]!r}", flush=True)  # fmt: skip
    later = [r[2] for r in rows if r[1] > 1]
    print(f"turns 2-3: mean first token {1000 * sum(later) / len(later):.0f} ms; "
          f"restored {snaps.restored}, {snaps.saved_bytes / 2**20:.0f} MB kept", flush=True)  # fmt: skip
