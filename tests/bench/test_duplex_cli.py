"""`antiphon bench duplex` answers bad input with a specific message (exit 2) before it
loads any model or plays any scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.cli import build_parser
from antiphon.server.config import ServerConfig
from antiphon.server.context import ServerContext
from antiphon.server.runner import BackgroundServer


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    args = build_parser().parse_args(["bench", "duplex", *argv])
    rc = int(args.func(args))
    return rc, capsys.readouterr().err


def test_unknown_category(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))
    rc, err = run(
        ["--categories", "pause,smalltalk", "--url", "ws://127.0.0.1:9/v1/realtime"], capsys
    )
    assert rc == 2 and "unknown category smalltalk; choose from pause, turn_taking" in err


def test_not_a_websocket_url(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))
    rc, err = run(
        [
            "--per-category",
            "1",
            "--categories",
            "turn_taking",
            "--url",
            "http://127.0.0.1:8000/v1/realtime",
        ],
        capsys,
    )
    assert rc == 2 and "is not a websocket URL" in err


def test_nothing_listening(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))
    with BackgroundServer(_keyed_context()) as srv:
        port = srv.port
    rc, err = run(
        [
            "--per-category",
            "1",
            "--categories",
            "turn_taking",
            "--url",
            f"ws://127.0.0.1:{port}/v1/realtime",
        ],
        capsys,
    )
    assert rc == 2 and f"cannot connect to ws://127.0.0.1:{port}/v1/realtime" in err


def test_server_that_refuses(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with BackgroundServer(_keyed_context()) as srv:
        rc, err = run(
            [
                "--per-category",
                "1",
                "--categories",
                "turn_taking",
                "--url",
                srv.ws_url + "/v1/realtime",
            ],
            capsys,
        )
    assert rc == 2 and "refused the connection: HTTP 401" in err


def test_moshi_url_that_is_not_moshi(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))
    with BackgroundServer(_keyed_context()) as srv:
        rc, err = run(
            [
                "--per-category",
                "1",
                "--categories",
                "turn_taking",
                "--url",
                srv.ws_url + "/api/chat",
                "--api-key",
                "k",
            ],
            capsys,
        )
    assert rc == 2 and "refused the connection: HTTP 401" in err  # the key is for Realtime only


def test_analyse_only_without_takes(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rc, err = run(["--analyse-only", "--out", str(tmp_path)], capsys)
    assert rc == 2 and "no recorded takes" in err


def _keyed_context() -> ServerContext:
    def no_session():  # type: ignore[no-untyped-def]
        raise AssertionError("a refused client never gets a session")

    return ServerContext(ServerConfig(api_key="k"), no_session)
