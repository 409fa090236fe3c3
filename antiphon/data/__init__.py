"""Training data: synthetic full-duplex dialogues, cleaning of real recordings, text streams.

The dataset folder contract is in ``antiphon.data.manifest``; training reads it with
``load_manifest`` and turns the agent's words into its text stream with
``antiphon.data.text_stream.text_stream``.
"""

from antiphon.data.manifest import (
    DialogueRecord,
    ManifestError,
    Turn,
    Word,
    load_manifest,
    read_dialogue_audio,
    write_dataset,
)
from antiphon.data.text_stream import TextStreamOverflow, num_frames_for, text_stream

__all__ = [
    "DialogueRecord",
    "ManifestError",
    "TextStreamOverflow",
    "Turn",
    "Word",
    "load_manifest",
    "num_frames_for",
    "read_dialogue_audio",
    "text_stream",
    "write_dataset",
]
