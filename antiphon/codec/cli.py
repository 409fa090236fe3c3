"""``antiphon codec encode|decode|roundtrip``: files through the Mimi codec."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch stays out of the CLI's import time
    from antiphon.codec.model import MimiModel

ENV_CHECKPOINT = "ANTIPHON_MIMI_CHECKPOINT"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("codec", help="Mimi neural audio codec: encode, decode, roundtrip")
    sub = p.add_subparsers(dest="codec_command", required=True)
    for name, help_text, src, dst in (
        ("encode", "audio file -> codes file", "IN.wav", "OUT.codes"),
        ("decode", "codes file -> wav", "IN.codes", "OUT.wav"),
        ("roundtrip", "audio file -> codes -> wav", "IN.wav", "OUT.wav"),
    ):
        q = sub.add_parser(name, help=help_text)
        q.add_argument("input", metavar=src)
        q.add_argument("output", metavar=dst)
        q.add_argument(
            "--checkpoint",
            default=os.environ.get(ENV_CHECKPOINT),
            help=f"Mimi safetensors (released or antiphon); default ${ENV_CHECKPOINT}",
        )
        q.add_argument(
            "--random-init", type=int, metavar="SEED", default=None,
            help="no checkpoint: random weights (pipeline checks only; output is noise)",
        )  # fmt: skip
        if name != "decode":
            q.add_argument(
                "--num-codebooks", type=int, default=None, help="active codebooks (default 8)"
            )
        q.set_defaults(func=_run)


def _note(msg: str) -> None:
    print(f"codec: {msg}", file=sys.stderr)


def _model(args: argparse.Namespace, num_codebooks: int | None) -> MimiModel:
    import torch

    from antiphon.codec.checkpoint import load_mimi
    from antiphon.codec.config import MimiConfig
    from antiphon.codec.model import MimiModel

    if args.checkpoint:
        return load_mimi(args.checkpoint, num_codebooks=num_codebooks)
    if args.random_init is None:
        raise SystemExit(
            f"codec: no checkpoint; pass --checkpoint PATH (or set ${ENV_CHECKPOINT}),"
            " or --random-init SEED for a pipeline check"
        )
    _note("random weights: the output is not speech (pipeline check only)")
    torch.manual_seed(args.random_init)
    cfg = MimiConfig()
    model = MimiModel(cfg if num_codebooks is None else cfg.with_codebooks(num_codebooks))
    for cb in model.quantizer.codebooks():  # give the codebooks distinct centroids
        cb.embedding_sum.normal_()
    model.quantizer.invalidate()
    return model.eval()


def _read_audio(path: str, sample_rate: int):  # -> torch.Tensor [1, 1, T]
    import numpy as np
    import soundfile as sf
    import torch

    from antiphon.audio.io import resample

    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for unreadable files
        raise SystemExit(f"codec: cannot read audio {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise SystemExit(f"codec: {path} holds no samples")
    if data.shape[1] > 1:
        _note(f"{path} has {data.shape[1]} channels; downmixing to mono")
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise SystemExit(f"codec: {path} contains NaN or infinite samples")
    if rate != sample_rate:
        _note(f"{path} is {rate} Hz; resampling to the codec's {sample_rate} Hz")
        mono = resample(mono, rate, sample_rate)
    return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32)).view(1, 1, -1)


def _write_audio(path: str, audio, sample_rate: int) -> None:  # audio: torch [1, 1, T]
    from antiphon.audio.io import write_wav

    write_wav(path, audio.reshape(-1).float().numpy(), sample_rate)


def _run(args: argparse.Namespace) -> int:
    import torch

    from antiphon.codec.codes_io import CodesFile, CodesFileError, load_codes, save_codes

    cmd = args.codec_command
    if not Path(args.input).is_file():
        print(f"codec: input not found: {args.input}", file=sys.stderr)
        return 2
    try:
        with torch.inference_mode():
            if cmd == "decode":
                data = load_codes(args.input)
                model = _model(args, num_codebooks=None)
                if data.sample_rate != model.sample_rate or data.frame_rate != model.frame_rate:
                    raise CodesFileError(
                        f"codes are for {data.sample_rate} Hz / {data.frame_rate} Hz frames, the codec"
                        f" is {model.sample_rate} Hz / {model.frame_rate} Hz"
                    )
                model.check_codes(data.codes.unsqueeze(0))
                audio = model.decode(data.codes.unsqueeze(0))[..., : data.num_samples]
                _write_audio(args.output, audio, model.sample_rate)
                return 0
            model = _model(args, args.num_codebooks)
            audio = _read_audio(args.input, model.sample_rate)
            codes = model.encode(audio)
            if cmd == "encode":
                save_codes(
                    args.output,
                    CodesFile(
                        codes[0],
                        model.sample_rate,
                        model.frame_rate,
                        model.cardinality,
                        audio.shape[-1],
                    ),
                )
                seconds = audio.shape[-1] / model.sample_rate
                _note(
                    f"{codes.shape[-1]} frames x {codes.shape[1]} codebooks ({model.config.bitrate / 1000:.2f} kbps, {seconds:.2f} s)"
                )
            else:
                _write_audio(
                    args.output, model.decode(codes)[..., : audio.shape[-1]], model.sample_rate
                )
    except (ValueError, FileNotFoundError) as exc:
        print(f"codec: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="antiphon")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
