"""Build the cascade stack and sessions from command-line arguments."""

from __future__ import annotations

import argparse
import sys

from antiphon.cascade.brain import CascadeBrain
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.stack import CascadeStack
from antiphon.session.clock import Clock
from antiphon.session.session import Session


def progress(message: str) -> None:
    print(f"[antiphon] {message}", file=sys.stderr, flush=True)


def load_stack(args: argparse.Namespace, **overrides: object) -> CascadeStack:
    overrides.setdefault("demo_tools", getattr(args, "demo_tools", "ask"))
    if getattr(args, "llm_url", None):  # the LLM stage on an OpenAI-compatible endpoint
        overrides.setdefault("llm_url", args.llm_url)
        overrides.setdefault("llm_model", getattr(args, "llm_model", "default"))
    if getattr(args, "llm_slots", None):
        overrides.setdefault("llm_slots", args.llm_slots)
    if getattr(args, "asr_beam", None):
        overrides.setdefault("asr_beam", args.asr_beam)
    if getattr(args, "asr_rescore", None):
        overrides.setdefault("asr_rescore", args.asr_rescore)
    config = CascadeConfig(llm=args.llm, language=args.language, **overrides)  # type: ignore[arg-type]
    return CascadeStack(config, progress=progress)


def new_session(
    stack: CascadeStack,
    clock: Clock | None = None,
    instructions: str | None = None,
    output_rate: int = 24000,
    echo_cancel: bool = True,
    lead_ms: int = 0,
) -> Session:
    brain = CascadeBrain(stack, instructions=instructions)
    return Session(
        brain, clock=clock, output_rate=output_rate, echo_cancel=echo_cancel, lead_ms=lead_ms
    )
