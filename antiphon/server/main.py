"""`antiphon serve`: load the models once and serve the page and both protocols."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from antiphon.server.config import ServerConfig
from antiphon.server.context import ServerContext
from antiphon.session.session import Session


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    key = getattr(args, "api_key", None) or os.environ.get("ANTIPHON_API_KEY") or None
    hosts = getattr(args, "webrtc_host", None)
    return ServerConfig(
        webrtc_host_addresses=tuple(hosts)
        if hosts
        else (("127.0.0.1",) if _loopback(args.host) else ()),
        ice_servers=tuple(getattr(args, "ice_server", None) or ()),
        ice_username=getattr(args, "ice_username", None) or os.environ.get("ANTIPHON_ICE_USERNAME"),
        ice_credential=getattr(args, "ice_credential", None)
        or os.environ.get("ANTIPHON_ICE_CREDENTIAL"),
        host=args.host,
        port=args.port,
        api_key=key,
        insecure=bool(getattr(args, "insecure", False)),
        max_message_bytes=int(
            getattr(args, "max_message_bytes", None) or ServerConfig.max_message_bytes
        ),
        idle_timeout_s=float(getattr(args, "idle_timeout", None) or ServerConfig.idle_timeout_s),
        max_session_s=float(getattr(args, "max_session", None) or ServerConfig.max_session_s),
        max_sessions=int(getattr(args, "max_sessions", None) or ServerConfig.max_sessions),
        drain_s=float(getattr(args, "drain_timeout", None) or ServerConfig.drain_s),
    )


def main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if not _loopback(cfg.host) and cfg.api_key is None and not cfg.insecure:
        print(
            f"antiphon serve: refusing to listen on {cfg.host} without an API key. "
            "Set --api-key KEY (or ANTIPHON_API_KEY), or pass --insecure to allow anyone on the network.",
            file=sys.stderr,
        )
        return 2

    from antiphon.server.ops import DrainingServer
    from antiphon.server.runner import uvicorn_config

    if getattr(args, "brain", "cascade") in ("moshi", "tiny"):
        ctx = _e2e(args, cfg)
        if ctx is None:
            return 2
    else:
        from antiphon.apps.factory import load_stack
        from antiphon.server.context import cascade_context

        ctx = cascade_context(load_stack(args), cfg)
    if getattr(args, "instructions", None) and getattr(args, "brain", "cascade") == "cascade":
        base = ctx.new_session

        def with_instructions() -> Session:
            s = base()
            s.brain.conv.instructions = args.instructions  # type: ignore[attr-defined]
            return s

        ctx.new_session = with_instructions
    print(
        f"[antiphon] serving on http://{cfg.host}:{cfg.port}  (Realtime: ws://{cfg.host}:{cfg.port}/v1/realtime, "
        f"Moshi: ws://{cfg.host}:{cfg.port}/api/chat)",
        file=sys.stderr,
        flush=True,
    )
    DrainingServer(uvicorn_config(ctx, log_level="info"), ctx).run()  # SIGTERM drains
    return 0


def _e2e(args: argparse.Namespace, cfg: ServerConfig) -> ServerContext | None:
    from antiphon.e2e.stack import E2EStack
    from antiphon.lm.sampling import SamplingError, SamplingParams
    from antiphon.nn.checkpoint import CheckpointError
    from antiphon.server.context import e2e_context

    base = SamplingParams()
    folder = args.checkpoint
    if args.brain == "tiny":
        from antiphon.e2e.tiny import TINY_SAMPLING, tiny_model_dir

        base = TINY_SAMPLING
        try:
            folder = str(tiny_model_dir())
        except CheckpointError as exc:
            print(f"antiphon serve --brain tiny: {exc}", file=sys.stderr)
            return None
    if not folder:
        print("antiphon serve --brain moshi needs --checkpoint DIR", file=sys.stderr)
        return None

    def pick(value: object, default: object) -> object:
        return default if value is None else value

    try:
        params = SamplingParams(
            pick(getattr(args, "temp_text", None), base.temp_text),  # type: ignore[arg-type]
            pick(getattr(args, "top_k_text", None), base.top_k_text),  # type: ignore[arg-type]
            pick(getattr(args, "temp", None), base.temp),  # type: ignore[arg-type]
            pick(getattr(args, "top_k", None), base.top_k),  # type: ignore[arg-type]
            seed=args.seed,
        )
    except SamplingError as exc:
        print(f"antiphon serve: {exc}", file=sys.stderr)
        return None
    try:
        stack = E2EStack.load(folder, dtype=args.dtype, int8=args.int8, params=params)
    except (CheckpointError, ValueError) as exc:
        print(f"antiphon serve: cannot load {folder}: {exc}", file=sys.stderr)
        return None
    return e2e_context(stack, cfg, brain=args.brain)
