"""Bad input gets a specific message and exit code 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from antiphon.cli import main
from antiphon.data.manifest import ManifestError, load_manifest
from antiphon.data.scripts import ScriptError, read_scripts


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_unwritable_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, err = run_cli(["data", "synth", str(blocker / "ds"), "--dialogues", "1"], capsys)
    assert code == 2 and "cannot write to" in err and "file.txt" in err


def test_bad_scripts_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scripts = tmp_path / "s.txt"
    scripts.write_text("user: hello\nagent: hi there\nnarrator: it was dark\n")
    with pytest.raises(ScriptError, match=r"s.txt line 3: expected 'user: TEXT'"):
        read_scripts(scripts)
    code, err = run_cli(["data", "synth", str(tmp_path / "o"), "--scripts", str(scripts)], capsys)
    assert code == 2 and "line 3" in err
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text('{"turns": [{"speaker": "user", "text": "hi"}]}\n{"turns": 3}\n')
    with pytest.raises(ScriptError, match=r"s.jsonl line 1: a dialogue needs"):
        read_scripts(jsonl)
    (tmp_path / "s.csv").write_text("x")
    with pytest.raises(ScriptError, match=r"must be .txt or .jsonl"):
        read_scripts(tmp_path / "s.csv")


def test_scripts_file_dialogues(tmp_path: Path) -> None:
    scripts = tmp_path / "s.txt"
    scripts.write_text("# two dialogues\nU: hi\nA: hello\n\nuser: bye\nassistant: see you\n")
    got = read_scripts(scripts)
    assert [s.turns for s in got] == [
        (("user", "hi"), ("agent", "hello")),
        (("user", "bye"), ("agent", "see you")),
    ]


GOOD = {
    "id": "d0", "audio": "audio/d0.wav", "sample_rate": 24000, "num_samples": 24000,
    "split": "train", "voices": {"agent": "a", "user": "u"},
    "turns": [{"speaker": "agent", "text": "hi", "start": 0.1, "end": 0.5, "kind": "turn"}],
    "words": {"agent": [{"word": "hi", "start": 0.1, "end": 0.5}], "user": []},
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("turns"), "line 2: missing key 'turns'"),
        (
            lambda r: r["turns"][0].update(speaker="bot"),
            r"turns\[0\]: key 'speaker' must be one of",
        ),
        (lambda r: r["words"]["agent"][0].update(end=0.0), r"words.agent\[0\]: bad time span"),
        (lambda r: r["turns"][0].update(end=9.0), "after the audio"),
        (lambda r: r.update(num_samples="many"), "key 'num_samples' has str"),
    ],
)
def test_bad_manifest_names_line_and_key(tmp_path: Path, change: object, message: str) -> None:
    bad = json.loads(json.dumps(GOOD))
    change(bad)  # type: ignore[operator]
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path, check_audio=False)


def test_manifest_audio_is_checked(tmp_path: Path) -> None:
    (tmp_path / "manifest.jsonl").write_text("{not json\n")
    with pytest.raises(ManifestError, match="line 1: not JSON"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.jsonl").write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(ManifestError, match="key 'audio': cannot read"):
        load_manifest(tmp_path)


def test_clean_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"audio": "missing.wav"}\n')
    code, err = run_cli(["data", "clean", str(manifest), str(tmp_path / "o")], capsys)
    assert code == 2 and "m.jsonl line 1: key 'audio': no such file" in err
    (tmp_path / "empty").mkdir()
    code, err = run_cli(["data", "clean", str(tmp_path / "empty"), str(tmp_path / "o")], capsys)
    assert code == 2 and "no audio files" in err


@pytest.mark.models
def test_synth_cli_renders_a_scripts_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = tmp_path / "s.jsonl"
    turns = [
        {"speaker": "user", "text": "Is it raining?"},
        {"speaker": "agent", "text": "No, it is sunny."},
    ]
    scripts.write_text(json.dumps({"turns": turns}) + "\n")
    out = tmp_path / "ds"
    code = main(["data", "synth", str(out), "--scripts", str(scripts), "--dialogues", "2",
                 "--alignment", "proportional", "--quiet", "--heldout-fraction", "0"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "2 dialogues" in printed and "gaps:" in printed
    records = load_manifest(out)
    assert [r.split for r in records] == ["train", "train"]
    for rec in records:  # the file's one dialogue, cycled
        main_turns = [(t.speaker, t.text) for t in rec.turns if t.kind != "backchannel"]
        assert main_turns[0] == ("user", "Is it raining?")
        assert main_turns[1][0] == "agent" and "No," in main_turns[1][1]


def test_bad_timing_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["data", "synth", str(tmp_path / "o"), "--timing", "p_overlap=x"], capsys)
    assert code == 2 and "p_overlap must be a number" in err
