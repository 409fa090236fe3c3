"""A tiny random Moshi checkpoint folder (released layout), written once per test run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))  # the protocol test clients


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from antiphon.e2e.random_checkpoint import write_random_checkpoint

    return write_random_checkpoint(tmp_path_factory.mktemp("moshi_tiny"), seed=1)


@pytest.fixture(scope="session")
def tiny_stack(tiny_checkpoint: Path):  # type: ignore[no-untyped-def]
    from antiphon.e2e.stack import E2EStack
    from antiphon.lm.sampling import SamplingParams

    return E2EStack.load(tiny_checkpoint, params=SamplingParams(seed=0))
