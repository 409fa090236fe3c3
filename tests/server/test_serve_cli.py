"""`antiphon serve` refuses a non-loopback bind without a key (before loading any model)."""

from __future__ import annotations

from antiphon.cli import build_parser
from antiphon.server.main import config_from_args, main


def test_public_bind_requires_a_key(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTIPHON_API_KEY", raising=False)
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0"])
    assert main(args) == 2
    assert "--api-key" in capsys.readouterr().err


def test_serve_options_reach_the_config() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--insecure",
            "--port",
            "9001",
            "--max-message-bytes",
            "4096",
            "--idle-timeout",
            "12",
            "--max-session",
            "60",
            "--max-sessions",
            "3",
            "--api-key",
            "k",
        ]
    )
    cfg = config_from_args(args)
    assert (cfg.host, cfg.port, cfg.insecure, cfg.api_key) == ("0.0.0.0", 9001, True, "k")
    assert (cfg.max_message_bytes, cfg.idle_timeout_s, cfg.max_session_s, cfg.max_sessions) == (
        4096,
        12.0,
        60.0,
        3,
    )
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
