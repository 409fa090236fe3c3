"""Published Full-Duplex-Bench v1.0 scores, for the summary table.

Source: the v1.0 results table in the benchmark's repository, github.com/DanielLin94144/
Full-Duplex-Bench, file v1_v1.5/README.md (commit 6d6506628ff8), which accompanies
Lin et al., "Full-Duplex-Bench", arXiv:2503.04721. Latencies are means in seconds; TOR is
the takeover rate. GPT-Realtime's row appears only in the newer README; Gemini Live is the
deprecated Gemini Live 2.0 there. No figure below was computed here."""

from __future__ import annotations

SOURCE = (
    "Full-Duplex-Bench v1.0 table, github.com/DanielLin94144/Full-Duplex-Bench "
    "v1_v1.5/README.md (commit 6d65066), paper arXiv:2503.04721"
)

# column: (label, better)
COLUMNS = {
    "pause_synthetic_tor": ("Pause TOR (synthetic) ↓", "low"),
    "pause_candor_tor": ("Pause TOR (Candor) ↓", "low"),
    "backchannel_tor": ("Backchannel TOR ↓", "low"),
    "backchannel_freq": ("Backchannel freq ↑", "high"),
    "backchannel_jsd": ("Backchannel JSD ↓", "low"),
    "turn_tor": ("Smooth turn TOR ↑", "high"),
    "turn_latency": ("Smooth turn latency (s) ↓", "low"),
    "interrupt_tor": ("Interruption TOR ↑", "high"),
    "interrupt_gpt4o": ("Interruption GPT-4o score ↑", "high"),
    "interrupt_latency": ("Interruption latency (s) ↓", "low"),
}

_KEYS = list(COLUMNS)
_ROWS = {
    "Moshi": (0.985, 0.980, 1.000, 0.001, 0.957, 0.941, 0.265, 1.000, 0.765, 0.257),
    "Freeze-Omni": (0.642, 0.481, 0.636, 0.001, 0.997, 0.336, 0.953, 0.867, 3.615, 1.409),
    "Gemini Live": (0.255, 0.310, 0.091, 0.012, 0.896, 0.655, 1.301, 0.891, 3.376, 1.183),
    "GPT-Realtime": (0.010, 0.120, 0.000, 0.007, 0.980, 1.000, 1.470, 0.970, 3.850, 1.500),
}
PUBLISHED: dict[str, dict[str, float]] = {
    name: dict(zip(_KEYS, vals, strict=True)) for name, vals in _ROWS.items()
}
