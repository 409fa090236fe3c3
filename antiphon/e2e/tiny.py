"""The tiny end-to-end model that ships with the repository (``models/tiny``, trained by
``make train-tiny``): where it lives and how it samples.

``--brain tiny`` (serve, bench duplex) is ``--brain moshi --checkpoint models/tiny`` with
these sampling defaults. ``ANTIPHON_TINY_MODEL`` points elsewhere (e.g. a fresh
``runs/tiny/model``).
"""

from __future__ import annotations

import os
from pathlib import Path

from antiphon.lm.sampling import SamplingParams
from antiphon.nn.checkpoint import CheckpointError

REPO = Path(__file__).resolve().parents[2]
ENV_VAR = "ANTIPHON_TINY_MODEL"
DEFAULT_DIR = REPO / "models" / "tiny"

# A few-MB model trained for minutes has flat acoustic distributions: a long tail of
# unlikely codes turns its speech into noise. Cooler, narrower audio sampling than Moshi's
# (0.8 / top 250 of 2048) keeps it on the voice; the text stream is sampled as Moshi's.
TINY_SAMPLING = SamplingParams(temp_text=0.7, top_k_text=25, temp=0.7, top_k=50)


def tiny_model_dir() -> Path:
    """The tiny model's folder (``$ANTIPHON_TINY_MODEL`` or ``models/tiny`` in the repo);
    a clear error when it is not there."""
    raw = os.environ.get(ENV_VAR, "").strip()
    folder = Path(raw).expanduser() if raw else DEFAULT_DIR
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        where = f"${ENV_VAR}={raw}" if raw else str(folder)
        raise CheckpointError(
            f"the tiny model is not at {where} (no config.json + model.safetensors there);"
            " train it with `make train-tiny` (or `antiphon train tiny --ship models/tiny`),"
            f" or set {ENV_VAR} to a folder that `antiphon train tiny` wrote"
        )
    return folder
