"""`--llm-url`: the LLM stage through a real OpenAI-compatible server process on loopback
(llama-cpp-python's own server with the SmolLM2 GGUF), and what a session sees when the
endpoint is down or slow."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from antiphon import models
from antiphon.agent.toolcall import ToolCallParser, ToolCallRequest
from antiphon.cascade.llm import Message
from antiphon.cascade.remote_llm import RemoteChatLLM, RemoteLLMError, tool_call_text
from antiphon.session.commands import ForcedTool, Tool

pytestmark = [pytest.mark.models, pytest.mark.slow]

TIME_TOOL = Tool(
    "get_time",
    "The current time in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    """llama-cpp-python's server in its own process: a real engine behind the endpoint."""
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed after the process, below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(models.smollm2_gguf()),
            "--chat_format",
            "chatml-function-calling",
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--verbose",
            "False",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,  # a file, not a pipe: a full pipe would stall the server
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                raise RuntimeError(f"llama_cpp.server exited: {err[-2000:]}")
            try:
                if httpx.get(url + "/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_text_streams_in_pieces(engine: str) -> None:
    llm = RemoteChatLLM(engine)
    msgs = [Message("system", "You are brief."), Message("user", "Say hello to Ada.")]
    pieces = list(llm.stream(msgs, max_tokens=24, temperature=0.0))
    assert len(pieces) > 3  # streamed, not one blob
    assert "".join(pieces).strip()
    assert 0 < llm.last_first_token_s < 30


def test_a_forced_tool_call_reaches_the_parser_as_markup(engine: str) -> None:
    llm = RemoteChatLLM(engine)
    msgs = [Message("user", "What time is it in Paris?")]
    text = "".join(llm.stream(msgs, [TIME_TOOL], max_tokens=48, tool_choice=ForcedTool("get_time")))
    parser = ToolCallParser()
    items = [*parser.feed(text), *parser.finish()]
    calls = [i for i in items if isinstance(i, ToolCallRequest)]
    assert calls and calls[0].name == "get_time", text
    assert isinstance(calls[0].arguments, dict)


def test_tool_choice_none_answers_in_words(engine: str) -> None:
    llm = RemoteChatLLM(engine)
    msgs = [Message("user", "What time is it in Paris?")]
    text = "".join(llm.stream(msgs, [TIME_TOOL], max_tokens=24, tool_choice="none"))
    assert text.strip() and "<tool_call>" not in text


def test_cancel_stops_the_stream(engine: str) -> None:
    llm = RemoteChatLLM(engine)
    stop = threading.Event()
    got: list[str] = []
    for piece in llm.stream(
        [Message("user", "Count from one to fifty.")], cancel=stop, max_tokens=200
    ):
        got.append(piece)
        if len(got) == 3:
            stop.set()
    assert len(got) <= 4


def test_endpoint_down_is_a_specific_error() -> None:
    llm = RemoteChatLLM(f"http://127.0.0.1:{_free_port()}/v1", connect_timeout_s=1.0)
    with pytest.raises(RemoteLLMError) as err:
        list(llm.stream([Message("user", "Hi")]))
    assert err.value.code == "llm_unavailable"


def test_endpoint_that_never_answers_times_out() -> None:
    """A server that accepts the connection and then says nothing (an overloaded engine)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()
    llm = RemoteChatLLM(f"http://127.0.0.1:{srv.getsockname()[1]}/v1", idle_timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(RemoteLLMError) as err:
        list(llm.stream([Message("user", "Hi")]))
    assert err.value.code == "llm_timeout"
    assert time.monotonic() - t0 < 5
    for s in (*held, srv):
        s.close()


def test_tool_call_markup_keeps_malformed_arguments_for_the_parser() -> None:
    parser = ToolCallParser()
    items = [*parser.feed(tool_call_text("get_time", '{"city": ')), *parser.finish()]
    assert not any(isinstance(i, ToolCallRequest) for i in items)
    assert any(not isinstance(i, str) for i in items)  # reported as malformed, not spoken


async def test_a_session_whose_llm_endpoint_is_down_gets_a_specific_error_and_lives(
    stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from antiphon.apps.factory import new_session
    from antiphon.session.clock import VirtualClock
    from antiphon.session.commands import CreateResponse, UserText
    from antiphon.session.events import ErrorEvent, ResponseDone

    async def ask(session) -> list:  # type: ignore[no-untyped-def,type-arg]
        await session.send(UserText("What is the capital of France?"))
        await session.send(CreateResponse())
        await session.settle()
        for _ in range(200):  # let the (virtual) playback finish
            await session.clock.advance(0.1)
        out = []
        while (ev := session.next_event_nowait()) is not None:
            out.append(ev)
        return out

    down = RemoteChatLLM(f"http://127.0.0.1:{_free_port()}/v1", connect_timeout_s=1.0)
    async with new_session(stack, clock=VirtualClock()) as session:
        with monkeypatch.context() as m:
            m.setattr(stack, "llm", down)
            events = await ask(session)
        codes = [e.code for e in events if isinstance(e, ErrorEvent)]
        assert codes == ["llm_unavailable"]
        assert [e.status for e in events if isinstance(e, ResponseDone)] == ["failed"]
        # the same session answers once the LLM is back
        events = await ask(session)
        done = [e for e in events if isinstance(e, ResponseDone)]
        assert done and done[-1].status == "completed" and done[-1].text
