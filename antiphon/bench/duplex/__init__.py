"""`antiphon bench duplex`: a reproducible, offline full-duplex conversation benchmark
following Full-Duplex-Bench v1 and v1.5 (see docs/bench-duplex.md)."""
