"""How long a prompt takes to the next token's probabilities when the reply context last held
another system prompt, with and without the prompt snapshots (cascade/prompt_snapshots.py);
then the same for the tool judge's context when sessions with different tools alternate.
Qwen2.5-Coder-1.5B, 2 threads. Run: .venv/bin/python tests/cascade/bench_prompt_snapshots.py"""

import time

from antiphon.agent.builtin_tools import DemoTools
from antiphon.agent.chatml import Message, render_chatml
from antiphon.agent.persona import default_instructions, with_tool_guidance
from antiphon.cascade.llm import ChatLLM
from antiphon.models import LLM_MODELS
from antiphon.session.commands import Tool

llm = ChatLLM(LLM_MODELS["qwen1.5b"](), n_threads=2, n_ctx=4096)
plain = default_instructions("en")
tools = DemoTools().registry.schemas()


def P(system, tl, q):
    return llm.tokenize(render_chatml([Message("system", system), Message("user", q)], tl))


a = P(with_tool_guidance(plain, "en"), tools, "Set a timer for two minutes.")
b = P(plain, [], "What is the capital of France?")


def t(tokens):
    t0 = time.perf_counter()
    llm._thread.submit(llm._next_token_probs, tokens).result()
    return (time.perf_counter() - t0) * 1000


for mode in ("snapshots", "off"):
    if mode == "off":
        llm._snapshots.min_tokens = 10**9
        llm._snapshots._saved.clear()
    t(a)
    t(b)
    print(
        mode,
        f"A after B {t(a):.0f} ms, B after A {t(b):.0f} ms, A after B {t(a):.0f} ms",
        "restored",
        llm._snapshots.restored,
        flush=True,
    )

# the tool judge: the page's demo tools against a client's own two tools
own = [
    Tool("add_to_list", "Add an item to the user's shopping list.", {"type": "object"}),
    Tool("get_stock", "The current price of a stock.", {"type": "object"}),
]


def judge(tl, q):
    t0 = time.perf_counter()
    p = llm.tool_probability(q, tl)
    return (time.perf_counter() - t0) * 1000, p


for mode in ("snapshots", "off"):
    llm.tool_probability("Hello.", tools)  # the judge's context exists
    assert llm._judge is not None
    snaps = llm._judge.snapshots
    if mode == "off":
        snaps.min_tokens = 10**9
        snaps._saved.clear()
    judge(tools, "Hello there.")
    judge(own, "Good morning.")
    (ta, pa), (tb, pb), (tc, pc) = (
        judge(tools, "Turn on the kitchen lights."),
        judge(own, "Put milk on my list."),
        judge(tools, "What is the capital of France?"),
    )
    print(
        f"judge {mode}: demo tools after own {ta:.0f} ms (P(tool) {pa:.3f}),",
        f"own after demo {tb:.0f} ms ({pb:.3f}), demo after own {tc:.0f} ms ({pc:.3f});",
        "restored",
        snaps.restored,
        flush=True,
    )
