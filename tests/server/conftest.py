"""Live servers on loopback for the server tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# where the system's Node.js is too old, setup puts one from PyPI into .venv/bin: the
# browser tests' `node` is found there first
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from fake_brain import fake_context  # noqa: E402

from antiphon.server.runner import BackgroundServer  # noqa: E402


@pytest.fixture
def fake_server() -> Iterator[BackgroundServer]:
    """A server whose sessions run the instant fake brain (protocol tests)."""
    with BackgroundServer(fake_context(max_message_bytes=256 * 1024, idle_timeout_s=30)) as srv:
        yield srv


@pytest.fixture(scope="session")
def cascade_server(stack) -> Iterator[BackgroundServer]:  # type: ignore[no-untyped-def]
    """One server on the shared real cascade for the whole test run."""
    from antiphon.server.config import ServerConfig
    from antiphon.server.context import cascade_context

    with BackgroundServer(
        cascade_context(stack, ServerConfig(lead_ms=150, validate_events=True))
    ) as srv:
        yield srv


@pytest.fixture(
    params=["fake", pytest.param("cascade", marks=[pytest.mark.models, pytest.mark.slow])]
)
def any_server(request) -> BackgroundServer:  # type: ignore[no-untyped-def]
    """Each real-client test runs twice: on the instant fake brain (a fast protocol check)
    and on the real cascade (the proof)."""
    server: BackgroundServer = request.getfixturevalue(f"{request.param}_server")
    return server
