"""antiphon: real-time full-duplex speech-to-speech dialogue engine."""

import os

# Two OpenMP runtimes share the cores: llama.cpp's libgomp and CTranslate2's own copy
# (Whisper). Each spins at its barriers for ~300k iterations by default and cannot see the
# other's threads, so while Whisper decodes, the LLM's threads spin waiting for a partner
# the kernel has descheduled: on 2 cores an 8-token LLM pass took p90 3.1 s (max 5.1 s)
# instead of 0.21 s. With 1000 spins a waiting thread soon sleeps: 0.45 s p50, 0.56 s max
# beside Whisper, and no change alone (0.21 s; 76 ms per token). Measured 2026-12-06,
# docs/runs/openmp-contention-2026-12-06.txt
# (tests/cascade/bench_openmp_contention.py). Set before any OpenMP library is loaded
# (each reads it once); an operator's own value wins.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

__version__ = "0.1.0"
