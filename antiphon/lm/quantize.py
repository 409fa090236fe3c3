"""Weight-only int8 quantization of the LM's linear layers, for CPU inference: the LM step is
memory-bound on a CPU, and int8 rows read a quarter of the float32 bytes. The kernels live in
``antiphon/nn/int8.py`` (the codec's transformers use them too); embeddings stay in float (a
lookup reads one row)."""

from antiphon.nn.int8 import Int8Linear, quantize_int8

__all__ = ["Int8Linear", "quantize_int8"]
