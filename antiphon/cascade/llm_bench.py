"""``python -m antiphon.cascade.llm_bench [qwen1.5b|qwen0.5b|smollm2] [threads]``: the chat
model's first-token time and tokens/s over 3 turns (turn 1 cold, later turns reuse the KV
prefix)."""

from __future__ import annotations

from antiphon.cascade.llm import ChatLLM, Message


def bench(model: str = "qwen1.5b", n_threads: int = 2) -> None:
    """``python -m antiphon.cascade.llm [qwen|smollm2] [threads]``: first-token time and
    tokens/s over 3 turns; turn 1 is cold, later turns reuse the KV prefix."""
    from antiphon.agent.persona import default_instructions
    from antiphon.models import LLM_MODELS

    llm = ChatLLM(LLM_MODELS[model](), n_threads=n_threads)
    history = [Message("system", default_instructions("en"))]
    print(f"{model}, {n_threads} threads")
    for turn, question in enumerate(
        ["Hi, my name is Ada.", "Name three colours.", "What is my name?"]
    ):
        history.append(Message("user", question))
        history.append(Message("assistant", llm.complete(history, temperature=0.0, max_tokens=40)))
        s = llm.last_stats
        assert s is not None
        print(
            f"turn {turn + 1}: prompt {s.prompt_tokens} tok, evaluated {s.evaluated_tokens}, first "
            f"token {s.first_token_s:.3f}s, {s.generated_tokens} tok at {s.tokens_per_s:.1f} tok/s"
        )


if __name__ == "__main__":
    import sys

    bench(
        sys.argv[1] if len(sys.argv) > 1 else "qwen1.5b",
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
    )
