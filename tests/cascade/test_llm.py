"""ChatLLM on real GGUF models: answers, cancellation, KV prefix reuse, Chinese, templates."""

from __future__ import annotations

import json
import os
import re
import threading

import pytest

pytest.importorskip("llama_cpp")

from antiphon.agent.builtin_tools import DemoTools  # noqa: E402
from antiphon.agent.persona import default_instructions  # noqa: E402
from antiphon.agent.toolcall import ToolCallRequest, ToolListing  # noqa: E402
from antiphon.cascade.llm import ChatLLM, Message, render_chatml  # noqa: E402
from antiphon.models import qwen_gguf, smollm2_gguf  # noqa: E402

pytestmark = pytest.mark.models
SYSTEM = Message("system", default_instructions("en"))
CJK = re.compile(r"[\u4e00-\u9fff]")
# One thread by default: on a shared 2-core CI box, two llama.cpp threads spin-wait on each
# other and run ~6x slower than one (see ChatLLM.set_threads). Set 2 on an idle machine.
THREADS = int(os.environ.get("ANTIPHON_LLM_THREADS", "1"))


@pytest.fixture(scope="module")
def qwen() -> ChatLLM:
    return ChatLLM(qwen_gguf(), n_threads=THREADS, n_ctx=4096)


@pytest.fixture(scope="module")
def smollm() -> ChatLLM:
    return ChatLLM(smollm2_gguf(), n_threads=THREADS, n_ctx=2048)


def test_qwen_knows_the_capital_of_france(qwen: ChatLLM) -> None:
    reply = qwen.complete(
        [SYSTEM, Message("user", "What is the capital of France?")], temperature=0.0
    )
    assert "Paris" in reply
    assert "<|im_end|>" not in reply


def test_cancel_stops_within_one_token(smollm: ChatLLM) -> None:
    cancel = threading.Event()
    got: list[str] = []
    for piece in smollm.stream(
        [Message("user", "Tell me a long story about a dragon.")], cancel=cancel, max_tokens=60
    ):
        got.append(piece)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3  # nothing after the cancel
    stats = smollm.last_stats
    assert stats is not None and stats.cancelled and stats.generated_tokens <= 4
    # a callable works too, and an already-cancelled request yields nothing
    assert list(smollm.stream([Message("user", "Hi")], cancel=lambda: True)) == []


def test_kv_prefix_reuse_across_turns(qwen: ChatLLM) -> None:
    qwen.warmup(SYSTEM.content)
    history = [SYSTEM]
    evaluated, prompts, ttft, speed = [], [], [], []
    for question in ("Hi, my name is Ada.", "What is two plus two?", "What is my name?"):
        history.append(Message("user", question))
        reply = qwen.complete(history, temperature=0.0, max_tokens=24)
        history.append(Message("assistant", reply))
        stats = qwen.last_stats
        assert stats is not None
        evaluated.append(stats.evaluated_tokens)
        prompts.append(stats.prompt_tokens)
        ttft.append(stats.first_token_s)
        speed.append(stats.tokens_per_s)
    print(
        f"\nprompt tokens {prompts}, evaluated {evaluated}; first token "
        f"{[f'{t:.3f}s' for t in ttft]}; {[f'{s:.1f}' for s in speed]} tok/s"
    )
    assert "Ada" in history[-1].content
    # the system prompt came from warmup; later turns evaluate only the new user turn
    assert evaluated[0] < prompts[0] - 40
    assert evaluated[2] < 0.35 * prompts[2]
    assert evaluated[2] <= 40


def test_qwen_answers_chinese_in_chinese(qwen: ChatLLM) -> None:
    msgs = [Message("system", default_instructions("zh")), Message("user", "法国的首都是哪里？")]
    pieces = list(qwen.stream(msgs, temperature=0.0, max_tokens=30))
    reply = "".join(pieces)
    assert len(CJK.findall(reply)) >= 3, reply
    assert "巴黎" in reply
    # multi-byte characters split across tokens are yielded whole
    assert all("\ufffd" not in p for p in pieces)


def test_smollm_streams_and_stops(smollm: ChatLLM) -> None:
    reply = smollm.complete([Message("user", "Say hello.")], temperature=0.0, max_tokens=20)
    assert reply.strip() and "<|im_end|>" not in reply
    assert smollm.family == "smollm"
    template = str(smollm._llm.metadata["tokenizer.chat_template"])
    msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    theirs = _hf_render(template, msgs, None)
    assert smollm.render([Message("user", "Hi"), Message("assistant", "Hello!")]) == theirs


def _hf_render(template: str, messages: list[dict], tools: list[dict] | None) -> str:
    """Render a GGUF's embedded chat template the way transformers does."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    return env.from_string(template).render(
        messages=messages, tools=tools, add_generation_prompt=True
    )


def test_rendering_matches_qwen_embedded_template(qwen: ChatLLM) -> None:
    template = str(qwen._llm.metadata["tokenizer.chat_template"])
    tools = DemoTools().registry.schemas()
    call = ToolCallRequest("control_lights", '{"room": "kitchen", "state": "on"}', "call_1")
    ours = render_chatml(
        [
            Message("system", "Be brief."),
            Message("user", "Kitchen lights on."),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", '{"ok": true}', tool_call_id="call_1", name="control_lights"),
            Message("assistant", "Done."),
            Message("user", "Thanks!"),
        ],
        tools,
        tool_listing=ToolListing.JSON,
    )
    hf_tools = [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]
    theirs = _hf_render(
        template,
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Kitchen lights on."},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {
                            "name": "control_lights",
                            "arguments": {"room": "kitchen", "state": "on"},
                        },
                    }
                ],
            },
            {"role": "tool", "content": '{"ok": true}'},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "Thanks!"},
        ],
        hf_tools,
    )
    assert ours == theirs
    # no system message: the model's default one
    assert render_chatml([Message("user", "Hi")]) == _hf_render(
        template, [{"role": "user", "content": "Hi"}], None
    )


def test_tool_choice_required_and_none(smollm: ChatLLM) -> None:
    from antiphon.agent.toolcall import ToolCallParser

    tools = DemoTools().registry.schemas()
    msgs = [Message("user", "Please turn off the bedroom lights.")]
    parser = ToolCallParser()
    for piece in smollm.stream(msgs, tools, temperature=0.0, max_tokens=40, tool_choice="required"):
        parser.feed(piece)
    parser.finish()
    # even the 135M model writes a call that parses and names a declared tool: the whole
    # call is sampled under the tools' grammar
    assert not parser.errors and len(parser.calls) == 1, (parser.calls, parser.errors)
    assert parser.calls[0].name in {t.name for t in tools}
    assert parser.text.strip() == ""
    reply = smollm.complete(msgs, tools, temperature=0.0, max_tokens=20, tool_choice="none")
    assert reply.strip() and reply.lstrip()[0] not in "{<["


def test_every_model_call_runs_on_one_thread_and_the_next_turn_is_prefilled(
    qwen: ChatLLM,
) -> None:
    """Turns from different caller threads all drive llama.cpp from ChatLLM's own thread
    (libgomp slows down once pools exist on several threads), and a reply the model closed
    leaves the next user turn's opening in the KV cache."""
    seen: set[int] = set()
    inner = qwen._llm.eval

    def spy(tokens: list[int]) -> None:
        seen.add(threading.get_ident())
        inner(tokens)

    qwen._llm.eval = spy  # type: ignore[method-assign]
    try:
        history = [SYSTEM, Message("user", "Say hello.")]
        results: list[str] = []
        caller = threading.Thread(
            target=lambda: results.append(qwen.complete(history, temperature=0.0, max_tokens=30))
        )
        caller.start()
        caller.join()
        history += [Message("assistant", results[0]), Message("user", "Name one colour.")]
        qwen.complete(history, temperature=0.0, max_tokens=30)  # from this thread
    finally:
        qwen._llm.eval = inner  # type: ignore[method-assign]
    assert len(seen) == 1 and threading.get_ident() not in seen
    stats = qwen.last_stats
    assert stats is not None
    own = qwen.tokenize("Name one colour.<|im_end|>\n<|im_start|>assistant\n")
    assert stats.evaluated_tokens <= len(own) + 1, (stats.evaluated_tokens, len(own))
