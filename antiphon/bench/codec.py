"""``antiphon bench codec``: streaming speed (vs the reference Mimi) and codec quality.

Timing: 80 ms frames streamed one at a time (encode, then decode of the codes), per-frame
p50/p95 and real-time factor. ``--vs-reference`` also builds the reference ``moshi`` Mimi
(test/bench-only oracle, imported lazily here) with the *same* weights and times it
alternately with ours on the same frames, so machine noise hits both alike.
Quality: real human speech clips from packages and synthesized speech, through the codec.
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

FRAME_MS = 80.0
SPEECH_CLIPS = {
    "harvard (codec2-examples)": Path("/usr/share/codec2/raw/speech_orig_16k.wav"),
    "front-center (alsa-utils)": Path("/usr/share/sounds/alsa/Front_Center.wav"),
}
SYNTH_TEXT = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
)


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("codec", help="Mimi codec speed (vs reference) and quality")
    p.add_argument(
        "--vs-reference", action="store_true", help="time the moshi reference alongside ours"
    )
    p.add_argument("--frames", type=int, default=100, help="80 ms frames to stream for timing")
    p.add_argument("--quick", action="store_true", help="fewer frames, skip ASR and variants")
    p.add_argument("--checkpoint", default=None, help="Mimi safetensors (default: random weights)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--no-quality", action="store_true", help="timing only")
    p.add_argument(
        "--compare",
        default=None,
        help="a second codec checkpoint streamed and scored beside --checkpoint (e.g. the mel"
        " codec beside the Mimi-architecture tiny codec)",
    )
    p.add_argument(
        "--block", type=int, default=1,
        help="frames per turn when alternating ours/reference (1 = strictly alternate frames)",
    )  # fmt: skip
    p.set_defaults(func=main)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _load_clip(path: Path, rate: int) -> np.ndarray:
    from antiphon.audio.io import read_wav

    audio, _ = read_wav(path, sample_rate=rate)
    return audio[: 8 * rate]


def _synth_clips(rate: int) -> dict[str, tuple[np.ndarray, str]]:
    from antiphon.audio.io import read_wav

    out: dict[str, tuple[np.ndarray, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "espeak.wav"
        try:
            subprocess.run(
                ["espeak-ng", "-w", str(wav), SYNTH_TEXT], check=True, capture_output=True
            )
            out["espeak-ng (synth)"] = (read_wav(wav, sample_rate=rate)[0], SYNTH_TEXT)
        except (OSError, subprocess.CalledProcessError):
            pass
    return out


def build_model(checkpoint: str | None):  # -> MimiModel
    import torch

    from antiphon.codec.checkpoint import load_mimi
    from antiphon.codec.model import MimiModel

    if checkpoint:
        return load_mimi(checkpoint)
    torch.manual_seed(0)
    model = MimiModel().eval()
    # Random weights: give codebooks centroids spread like the latents of real speech so the
    # codes vary (zero-initialised EMA codebooks would map everything to code 0).
    clip = _load_clip(next(p for p in SPEECH_CLIPS.values() if p.is_file()), model.sample_rate)
    with torch.no_grad():
        latent = model.encode_latent(torch.from_numpy(clip[: 2 * model.sample_rate]).view(1, 1, -1))
        g = torch.Generator().manual_seed(0)
        for rvq in (model.quantizer.rvq_first, model.quantizer.rvq_rest):
            rows = (
                torch.nn.functional.conv1d(latent, rvq.input_proj.weight)
                .transpose(1, 2)
                .reshape(-1, rvq.input_proj.weight.shape[0])
            )
            for level, cb in enumerate(rvq.vq.codebooks(rvq.max_n_q)):
                cent = torch.randn(cb.embedding_sum.shape, generator=g) * rows.std(0) * 0.8**level
                cb.embedding_sum.copy_(cent + (rows.mean(0) if level == 0 else 0))
                cb._initialized.fill_(1.0)
    model.quantizer.invalidate()
    return model


def build_reference(model):  # -> moshi MimiModel with our weights
    from moshi.models.loaders import get_mimi  # test/bench-only oracle

    ref = get_mimi(None, device="cpu")
    ref.load_state_dict(model.state_dict())
    ref.set_num_codebooks(model.num_codebooks)
    return ref.eval()


def codec_frame_bytes(model) -> int:
    """Weights one streamed frame reads: every conv/transformer weight, the quantizer
    projections and the active codebooks' centroids (encoding compares against all of them)."""
    from antiphon.bench.memory_floor import parameter_bytes

    q = model.quantizer
    modules = [
        model.encoder, model.encoder_transformer, model.downsample, model.upsample,
        model.decoder_transformer, model.decoder,
        q.rvq_first.input_proj, q.rvq_first.output_proj, q.rvq_rest.input_proj,
        q.rvq_rest.output_proj,
    ]  # fmt: skip
    centroids = model.num_codebooks * model.cardinality * q.rvq_first.input_proj.out_channels * 4
    return parameter_bytes(modules) + centroids


class _Streamer:
    """Our model or the reference behind one interface: step(frame) -> (codes, audio, t_enc, t_dec)."""

    def __init__(self, model, reference: bool = False) -> None:
        self.model, self.reference = model, reference
        if reference:
            self._ctx = model.streaming(1)
            self._ctx.__enter__()
        else:
            self.state = model.init_state(1)

    def step(self, frame):
        t0 = time.perf_counter()
        codes = (
            self.model.encode(frame)
            if self.reference
            else self.model.encode_step(frame, self.state.encoder)
        )
        t1 = time.perf_counter()
        audio = (
            self.model.decode(codes)
            if self.reference
            else self.model.decode_step(codes, self.state.decoder)
        )
        t2 = time.perf_counter()
        return codes, audio, t1 - t0, t2 - t1

    def close(self) -> None:
        if self.reference:
            self._ctx.__exit__(None, None, None)


def stream_timing(
    streamers: dict[str, _Streamer],
    audio,
    frame_size: int,
    frames: int,
    block: int = 1,
    warmup: int = 3,
):
    """Stream the same frames through every model, alternating models every ``block`` frames
    (and which goes first each round), so machine noise hits all alike. Blocks longer than 1
    let each model's weights stay in cache across consecutive frames, as when it runs alone."""
    import torch

    names = list(streamers)
    times: dict[str, dict[str, list[float]]] = {n: {"enc": [], "dec": []} for n in names}
    outputs: dict[str, tuple[list, list]] = {n: ([], []) for n in names}
    n_avail = audio.shape[-1] // frame_size
    total = frames + warmup
    with torch.inference_mode():
        for round_start in range(0, total, block):
            idx = range(round_start, min(round_start + block, total))
            order = names if (round_start // block) % 2 == 0 else names[::-1]
            for n in order:
                for i in idx:
                    start = (i % n_avail) * frame_size
                    frame = audio[..., start : start + frame_size].contiguous()
                    codes, out, te, td = streamers[n].step(frame)
                    if i >= warmup:
                        times[n]["enc"].append(te * 1000)
                        times[n]["dec"].append(td * 1000)
                        outputs[n][0].append(codes)
                        outputs[n][1].append(out)
    return times, outputs


def _row(name: str, t: dict[str, list[float]]) -> str:
    total = [a + b for a, b in zip(t["enc"], t["dec"], strict=True)]
    return (
        f"  {name:<22} encode p50 {statistics.median(t['enc']):6.2f} p95 {_pct(t['enc'], 0.95):6.2f} | "
        f"decode p50 {statistics.median(t['dec']):6.2f} p95 {_pct(t['dec'], 0.95):6.2f} | "
        f"total p50 {statistics.median(total):6.2f} p95 {_pct(total, 0.95):6.2f} ms | "
        f"RTF {statistics.median(total) / FRAME_MS:.3f}"
    )


def _variant_models(model) -> dict[str, object]:
    import torch
    from torch import nn

    variants: dict[str, object] = {}
    variants["bf16"] = copy.deepcopy(model).to(torch.bfloat16)
    with warnings.catch_warnings():  # torch.ao eager quantization is deprecated but still works
        warnings.simplefilter("ignore")
        q = copy.deepcopy(model)
        variants["int8-dynamic (linear)"] = torch.ao.quantization.quantize_dynamic(
            q, {nn.Linear}, dtype=torch.qint8
        )
    return variants


def main(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    frames = min(args.frames, 20) if args.quick else args.frames
    model = build_model(args.checkpoint)
    cfg = model.config
    weights = "checkpoint " + args.checkpoint if args.checkpoint else "RANDOM weights"
    print(
        f"antiphon bench codec — Mimi {cfg.sample_rate} Hz, {cfg.frame_rate} Hz frames of {cfg.frame_size} samples, "
        f"{model.num_codebooks} codebooks x {model.cardinality} = {cfg.bitrate / 1000:.2f} kbps; {weights}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    clip = _load_clip(next(p for p in SPEECH_CLIPS.values() if p.is_file()), cfg.sample_rate)
    audio = torch.from_numpy(clip).view(1, 1, -1)

    streamers = {"antiphon (fp32)": _Streamer(model)}
    if args.vs_reference:
        streamers["reference moshi 0.2.13"] = _Streamer(build_reference(model), reference=True)
    other = None
    if args.compare:
        other = build_model(args.compare)
        if other.frame_size != cfg.frame_size or other.sample_rate != cfg.sample_rate:
            raise SystemExit(f"--compare {args.compare}: another rate or frame size")
        streamers[f"compare: {Path(args.compare).name}"] = _Streamer(other)
    times, outputs = stream_timing(streamers, audio, cfg.frame_size, frames, block=args.block)
    print(
        f"\nStreaming, {frames} frames of 80 ms (encode + decode of each frame, after 3 warm-up"
        f" frames; models alternate every {args.block} frame(s)):"
    )
    for name, t in times.items():
        print(_row(name, t))
    if args.vs_reference:
        ours_t, ref_t = times["antiphon (fp32)"], times["reference moshi 0.2.13"]
        ours_total = statistics.median(
            [a + b for a, b in zip(ours_t["enc"], ours_t["dec"], strict=True)]
        )
        ref_total = statistics.median(
            [a + b for a, b in zip(ref_t["enc"], ref_t["dec"], strict=True)]
        )
        oc, rc = (
            torch.cat(outputs["antiphon (fp32)"][0], -1),
            torch.cat(outputs["reference moshi 0.2.13"][0], -1),
        )
        oa, ra = (
            torch.cat(outputs["antiphon (fp32)"][1], -1),
            torch.cat(outputs["reference moshi 0.2.13"][1], -1),
        )
        from antiphon.bench.memory_floor import MemoryFloor, read_bandwidth

        nbytes = codec_frame_bytes(model)
        floor = MemoryFloor(nbytes, read_bandwidth(nbytes))
        print("\n".join(floor.describe({"antiphon (fp32)": ours_total, "reference": ref_total})))
        print(
            f"  speed-up vs reference (p50 total): {ref_total / ours_total:.2f}x"
            f"  | same numbers: codes equal {float((oc == rc).float().mean()) * 100:.2f}%, "
            f"decoded max |diff| {float((oa - ra).abs().max()):.2e}"
        )
        streamers["reference moshi 0.2.13"].close()

    if not args.quick:
        print("\nVariants (streamed on the same frames; error vs fp32 streaming output):")
        base_codes = torch.cat(outputs["antiphon (fp32)"][0], -1)
        base_audio = torch.cat(outputs["antiphon (fp32)"][1], -1)
        for name, variant in _variant_models(model).items():
            dtype = next(variant.parameters()).dtype  # type: ignore[attr-defined]
            try:
                vt, vo = stream_timing(
                    {name: _Streamer(variant)}, audio.to(dtype), cfg.frame_size, frames
                )
            except RuntimeError as exc:
                print(f"  {name:<22} failed: {exc}")
                continue
            vc, va = torch.cat(vo[name][0], -1), torch.cat(vo[name][1], -1).float()
            err = (va - base_audio).abs().max()
            snr = 10 * torch.log10(
                base_audio.pow(2).mean() / (va - base_audio).pow(2).mean().clamp(min=1e-20)
            )
            print(_row(name, vt[name]))
            print(
                f"  {'':<22} codes equal {float((vc == base_codes).float().mean()) * 100:.1f}%, "
                f"decoded max |diff| {float(err):.2e}, SNR vs fp32 {float(snr):.1f} dB"
            )

    if not args.no_quality:
        _quality(model, asr=not args.quick, random_weights=not args.checkpoint)
        if other is not None:
            print(f"\nCompared codec {args.compare} ({type(other).__name__}):")
            _quality(other, asr=not args.quick, random_weights=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak resident memory of this process: {peak:.0f} MB")
    return 0


def _quality(model, asr: bool, random_weights: bool) -> None:
    import torch

    from antiphon.codec import metrics

    rate = model.sample_rate
    clips: dict[str, tuple[np.ndarray, str | None]] = {
        name: (_load_clip(p, rate), None) for name, p in SPEECH_CLIPS.items() if p.is_file()
    }
    clips.update(_synth_clips(rate))
    print(f"\nQuality at {model.config.bitrate / 1000:.2f} kbps (batch encode+decode):")
    if random_weights:
        print(
            "  NOTE: RANDOM weights: these numbers only check the pipeline; they say nothing of quality."
        )
    for name, (clip, text) in clips.items():
        with torch.inference_mode():
            x = torch.from_numpy(clip).view(1, 1, -1)
            y = model.decode(model.encode(x))[0, 0, : clip.shape[0]].float().numpy()
        y = np.clip(y, -1.0, 1.0)
        line = (
            f"  {name:<26} {len(clip) / rate:4.1f} s  SI-SDR {metrics.si_sdr_db(y, clip):7.2f} dB  "
            f"mel-L1 {metrics.mel_distance(y, clip, rate):.3f}"
        )
        for label, fn in (("PESQ-WB", metrics.pesq_wb), ("STOI", metrics.stoi)):
            try:
                v = fn(y, clip, rate)
                line += f"  {label} {v:.2f}" if v is not None else f"  {label} n/a"
            except Exception as exc:  # pesq raises on silent/garbage output
                line += f"  {label} failed ({type(exc).__name__})"
        d_in, d_out = metrics.dnsmos(clip, rate), metrics.dnsmos(y, rate)
        if d_in and d_out:
            line += f"  DNSMOS-OVRL {d_in['ovrl']:.2f}->{d_out['ovrl']:.2f}"
        if asr:
            ref_text = text or metrics.transcribe(clip, rate)
            hyp_in, hyp_out = metrics.transcribe(clip, rate), metrics.transcribe(y, rate)
            if ref_text is not None and hyp_in is not None and hyp_out is not None:
                w_in, w_out = (
                    metrics.word_error_rate(ref_text, hyp_in),
                    metrics.word_error_rate(ref_text, hyp_out),
                )
                line += f"  WER {w_in * 100:.0f}%->{w_out * 100:.0f}% ({(w_out - w_in) * 100:+.0f})"
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="antiphon bench")
    register(parser.add_subparsers(dest="bench", required=True))
    ns = parser.parse_args(["codec", *sys.argv[1:]])
    sys.exit(ns.func(ns))
