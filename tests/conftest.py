"""Shared fixtures. The cascade stack (real models) loads once per test run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/speech.py and friends
# The moshi oracle would torch.compile a few of its functions (inductor: a C++ toolchain and
# seconds of compile per test process); the same functions run uncompiled with this.
os.environ.setdefault("NO_TORCH_COMPILE", "1")


@pytest.fixture(scope="session")
def stack():  # type: ignore[no-untyped-def]
    """The default English cascade (the default LLM and recognizer, piper), 60-token replies."""
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.stack import CascadeStack

    return CascadeStack(CascadeConfig(max_tokens=60))
