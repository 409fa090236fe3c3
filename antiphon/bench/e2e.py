"""``antiphon bench e2e``: per-frame cost of the end-to-end loop (Mimi encode → LM step with
depth steps → Mimi decode) at the small configuration, ours vs the reference side by side.

``--vs-reference`` builds the ``moshi`` LMGen and Mimi (bench/test-only oracle, imported
lazily) with the same weights and runs them frame-interleaved with ours on the same user
frames, so machine noise hits both alike. Also reported: int8 and bf16 variants, the int8
logit error, and a sweep for the largest LM that keeps the whole loop real time (p95 under
one 80 ms frame). With a GPU, the released 7B configuration's frame time in bf16.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from antiphon.bench.codec import _pct, build_model, build_reference
from antiphon.bench.memory_floor import MemoryFloor, parameter_bytes, read_bandwidth
from antiphon.codec.model import MimiModel
from antiphon.e2e.stack import quantize_decoder_int8, quantize_loop_int8
from antiphon.lm.config import LMConfig, small_config
from antiphon.lm.generate import LMGenerator
from antiphon.lm.model import LMModel
from antiphon.lm.quantize import quantize_int8
from antiphon.lm.sampling import SamplingParams

FRAME_S = 0.08
SWEEP_DIMS = (512, 768, 1024, 1280, 1536, 2048)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("e2e", help="end-to-end loop per-frame cost (vs reference)")
    p.add_argument("--vs-reference", action="store_true", help="time moshi's LMGen/Mimi too")
    p.add_argument("--frames", type=int, default=100, help="frames timed per variant")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="fewer frames, no sweep")
    p.add_argument("--no-sweep", action="store_true", help="skip the largest-real-time sweep")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument(
        "--sessions",
        default="1,2,4,8",
        help="batched session counts timed in one step per frame ('' to skip)",
    )
    p.set_defaults(func=main)


Stepper = Callable[[torch.Tensor], None]


def _ours(model: LMModel, params: SamplingParams) -> Stepper:
    gen = LMGenerator(model, params)
    state = gen.init_state(1)

    def step(user: torch.Tensor) -> None:
        gen.step(state, user)

    return step


def _reference(model: LMModel) -> Stepper:
    from moshi.models.lm import LMGen
    from moshi.models.lm import LMModel as ReferenceLM

    ref = ReferenceLM(dtype=torch.float32, **model.config.to_moshi()).eval()
    ref.load_state_dict(model.state_dict())
    gen = LMGen(ref, use_sampling=True)
    gen.streaming_forever(1)

    def step(user: torch.Tensor) -> None:
        gen.step(user.unsqueeze(-1))

    return step


def _loop(lm_step: Stepper, mimi: object, reference: bool, user_q: int) -> Stepper:
    """The whole frame: encode the user's 80 ms, step the LM, decode one agent frame."""
    if reference:
        mimi.streaming_forever(1)  # type: ignore[attr-defined]
        encode, decode = mimi.encode, mimi.decode  # type: ignore[attr-defined]
    else:
        st = mimi.init_state(1)  # type: ignore[attr-defined]

        def encode(x: torch.Tensor) -> torch.Tensor:
            return mimi.encode_step(x, st.encoder)  # type: ignore[attr-defined]

        def decode(c: torch.Tensor) -> torch.Tensor:
            return mimi.decode_step(c, st.decoder)  # type: ignore[attr-defined]

    agent = torch.zeros(1, 8, 1, dtype=torch.long)

    def step(frame: torch.Tensor) -> None:
        codes = encode(frame)
        lm_step(codes[:, :user_q, 0])
        decode(agent)  # the agent frame's codes (their values do not change the cost)

    return step


def _time(
    steppers: dict[str, Stepper], inputs: list[torch.Tensor], warmup: int = 5
) -> dict[str, list[float]]:
    """Run all steppers frame-interleaved; per-frame seconds of each, after warm-up."""
    times: dict[str, list[float]] = {name: [] for name in steppers}
    with torch.inference_mode():
        for i, x in enumerate(inputs):
            for name, step in steppers.items():
                t0 = time.perf_counter()
                step(x)
                if i >= warmup:
                    times[name].append(time.perf_counter() - t0)
    return times


def _row(name: str, t: list[float]) -> dict[str, float]:
    return {"p50_ms": 1e3 * _pct(t, 0.5), "p95_ms": 1e3 * _pct(t, 0.95)}


def _print(title: str, rows: dict[str, dict[str, float]], base: str | None) -> None:
    print(f"\n{title}")
    print(f"  {'variant':<22} {'p50 ms':>8} {'p95 ms':>8} {'speed-up p50':>13}")
    for name, r in rows.items():
        up = ""
        if base and base in rows and name != base:
            up = f"{rows[base]['p50_ms'] / r['p50_ms']:.2f}x"
        print(f"  {name:<22} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {up:>13}")


def _int8_error(model: LMModel) -> dict[str, float]:
    q = quantize_int8(copy.deepcopy(model))
    g = torch.Generator().manual_seed(0)
    c = model.config
    codes = torch.randint(0, c.card, (1, c.num_streams, 32), generator=g)
    codes[:, 0] = torch.randint(0, c.text_card, (1, 32), generator=g)
    with torch.no_grad():
        a, b = model(codes), q(codes)
    out: dict[str, float] = {}
    for name, x, y in (("text", a.text_logits, b.text_logits), ("audio", a.logits, b.logits)):
        x, y = x.nan_to_num(0.0), y.nan_to_num(0.0)
        out[f"{name}_max_abs"] = float((x - y).abs().max())
        out[f"{name}_rel"] = out[f"{name}_max_abs"] / float(x.abs().max())
        out[f"{name}_top1_agree"] = float((x.argmax(-1) == y.argmax(-1)).float().mean())
    return out


def _sweep(mimi: MimiModel, frames: int, user_q: int) -> dict[str, dict[str, float]]:
    """Grow the temporal transformer until the full loop's p95 exceeds one frame."""
    results: dict[str, dict[str, float]] = {}
    mimi8 = copy.deepcopy(mimi)
    quantize_decoder_int8(mimi8)  # as the int8 loop has it
    for dim in SWEEP_DIMS:
        cfg = replace(small_config(), dim=dim, num_heads=dim // 64)
        torch.manual_seed(0)
        model = LMModel(cfg).eval()
        for variant in ("float32", "int8"):
            m = quantize_int8(copy.deepcopy(model)) if variant == "int8" else model
            codec = mimi8 if variant == "int8" else mimi
            loop = _loop(_ours(m, SamplingParams(seed=0)), codec, False, user_q)
            t = _time({"x": loop}, _frames(frames))["x"]
            row = _row("x", t) | {"params_M": sum(p.numel() for p in model.parameters()) / 1e6}
            results[f"dim{dim}-{variant}"] = row
            ok = row["p95_ms"] < FRAME_S * 1e3
            print(f"  dim {dim:5d} ({row['params_M']:.0f} M) {variant:<8} loop p50 {row['p50_ms']:6.1f} ms"
                  f"  p95 {row['p95_ms']:6.1f} ms  {'real time' if ok else 'too slow'}", flush=True)  # fmt: skip
        if all(results[f"dim{dim}-{v}"]["p95_ms"] >= FRAME_S * 1e3 for v in ("float32", "int8")):
            break
    return results


def _frames(n: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [0.1 * torch.randn(1, 1, 1920, generator=g) for _ in range(n)]


def main(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    frames = 30 if args.quick else args.frames
    torch.manual_seed(0)
    cfg: LMConfig = small_config()
    model = LMModel(cfg).eval()
    params = SamplingParams(seed=0)
    print(f"[bench e2e] small config: dim {cfg.dim}, {cfg.num_layers} layers, depth {cfg.depformer_dim}"
          f"/{cfg.depformer_num_layers}, {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M params,"
          f" {torch.get_num_threads()} threads, {frames} frames", flush=True)  # fmt: skip
    g = torch.Generator().manual_seed(1)
    users = [torch.randint(0, cfg.card, (1, cfg.user_q), generator=g) for _ in range(frames)]
    lm = {
        "ours float32": _ours(model, params),
        "ours int8": _ours(quantize_int8(copy.deepcopy(model)), params),
        "ours bfloat16": _ours(copy.deepcopy(model).to(torch.bfloat16), params),
    }
    if args.vs_reference:
        lm = {"reference float32": _reference(model)} | lm
    lm_rows = {k: _row(k, v) for k, v in _time(lm, users).items()}
    base = "reference float32" if args.vs_reference else None
    _print("LM step (temporal + 8 depth steps + sampling), per 80 ms frame", lm_rows, base)
    print(
        "\n".join(
            _lm_floor(model).describe(
                {k: r["p50_ms"] for k, r in lm_rows.items() if "float32" in k}
            )
        )
    )

    mimi = build_model(None)
    lm8, mimi8 = copy.deepcopy(model), copy.deepcopy(mimi)
    quantize_loop_int8(lm8, mimi8)  # the LM and the codec's decoder transformer
    loops = {
        "ours float32": _loop(_ours(model, params), mimi, False, cfg.user_q),
        "ours int8 LM": _loop(_ours(quantize_int8(copy.deepcopy(model)), params), mimi, False, cfg.user_q),
        "ours int8": _loop(_ours(lm8, params), mimi8, False, cfg.user_q),
    }  # fmt: skip
    if args.vs_reference:
        ref_mimi = build_reference(mimi)
        loops = {"reference float32": _loop(_reference(model), ref_mimi, True, cfg.user_q)} | loops
    loop_rows = {k: _row(k, v) for k, v in _time(loops, _frames(frames)).items()}
    _print("Full loop (Mimi encode + LM step + Mimi decode), per 80 ms frame", loop_rows, base)
    batched: dict[str, dict[str, float]] = {}
    if args.sessions:
        from antiphon.bench.e2e_batch import report

        sizes = tuple(int(n) for n in args.sessions.split(","))
        ref = loop_rows.get("reference float32", {}).get("p50_ms")
        batched = report(model, mimi, min(frames, 40), sizes, ref)
    err = _int8_error(model)
    print("\nint8 weight-only logit error vs float32 (random weights, 32 frames):")
    for name in ("text", "audio"):
        print(f"  {name:<5} max |diff| {err[name + '_max_abs']:.4f} ({100 * err[name + '_rel']:.2f} % of"
              f" the largest logit), top-1 agreement {100 * err[name + '_top1_agree']:.1f} %")  # fmt: skip
    sweep: dict[str, dict[str, float]] = {}
    if not (args.quick or args.no_sweep):
        print("\nLargest LM that keeps the full loop real time (p95 < 80 ms), depth 256/2 kept:")
        sweep = _sweep(mimi, min(frames, 40), cfg.user_q)
    gpu = _gpu_7b() if torch.cuda.is_available() else None
    if gpu is None:
        print("\n7B bf16 frame time: no GPU on this machine, not measured.")
    if args.json:
        figures = {
            "lm_step": lm_rows,
            "loop": loop_rows,
            "batched_sessions": batched,
            "int8_error": err,
            "sweep": sweep,
            "gpu_7b": gpu,
        }
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


def _lm_floor(model: LMModel) -> MemoryFloor:
    """Bytes one frame streams: the temporal transformer, the text head and every depth step's
    own weights (embeddings are gathered a row at a time, so they do not count)."""
    parts = [
        model.transformer,
        model.text_linear,
        model.depformer_in,
        model.depformer,
        model.linears,
    ]
    nbytes = parameter_bytes(parts)
    return MemoryFloor(nbytes, read_bandwidth(nbytes))


def _gpu_7b() -> dict[str, float]:
    """The released 7B configuration, random weights, bf16, one LM step per frame on the GPU."""
    dev = torch.device("cuda")
    with torch.device(dev):
        model = LMModel(LMConfig()).to(torch.bfloat16).eval()
    gen = LMGenerator(model, SamplingParams(seed=0))
    state = gen.init_state(1)
    times = []
    for i in range(60):
        user = torch.randint(0, 2048, (1, 8), device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        gen.step(state, user)
        torch.cuda.synchronize()
        if i >= 10:
            times.append(time.perf_counter() - t0)
    row = _row("7b", times)
    print(
        f"\n7B bf16 LM step on {torch.cuda.get_device_name()}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms"
    )
    return row
