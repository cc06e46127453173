"""Practice loop: troubled bars as an exercise (MIDI and MusicXML), played and assessed again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mido
import pytest

from etude_engine import InvalidConfigError
from etude_engine.cli_assess import main
from etude_engine.practice import exercise, from_report, write_exercise
from etude_engine.scores import ScoreData, load_score
from support.midi import BASS, MELODY, VIENNA, write_score_midi

DATA = VIENNA  # ../shared beside the project, as in CI (see tests/support)


def play_perfectly(sd: ScoreData, path: Path) -> None:
    """The score played exactly as written, at its own tempo, 1 s in (a type-0 MIDI file)."""
    events = []
    for p, on, dur in zip(sd.pitch, sd.onset_s, sd.duration_s, strict=True):
        events.append((1.0 + on, 1, int(p)))
        events.append((1.0 + on + max(0.05, 0.9 * dur), 0, int(p)))
    events.sort()
    mid = mido.MidiFile(type=0, ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    track = mido.MidiTrack()
    now = 0
    for t, is_on, p in events:
        tick = round(t * 960)
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=p, velocity=70 if is_on else 0, time=tick - now))
        now = tick
    mid.tracks.append(track)
    mid.save(str(path))


def assess_json(score: Path, perf: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([str(score), str(perf), "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def all_matched(report: dict[str, Any]) -> bool:
    n = report["metrics"]["notes"]
    return bool(n["matched"] > 0 and n["missed"] == n["wrong_pitch"] == n["extra"] == 0)


@pytest.fixture
def score(tmp_path: Path) -> ScoreData:
    write_score_midi(tmp_path / "piece.mid")
    return load_score(tmp_path / "piece.mid")


def test_exercise_cuts_bars_hand_and_tempo(score: ScoreData) -> None:
    ex = exercise(score, 2, 3, hand="right", tempo=0.5)
    assert [n.pitch for n in ex.notes] == MELODY[4:12]
    assert ex.notes[0].onset_q == 0.0 and ex.notes[-1].onset_q == 7.0
    assert ex.qpm == pytest.approx(60.0) and ex.time_signature == (4, 4)
    both = exercise(score, 3, 2, hand="both", tempo=1.0)  # bars in either order
    assert len(both.notes) == 8 + 4 and {n.hand for n in both.notes} == {0, 1}
    assert both.name == "piece-bars2-3-both-100pct"
    left = exercise(score, 4, 4, hand="left")
    assert [n.pitch for n in left.notes] == BASS[6:]


def test_exercise_refuses_bad_requests(score: ScoreData) -> None:
    with pytest.raises(InvalidConfigError, match="no left-hand notes in bars 9–9"):
        exercise(score, 9, 9, hand="left")
    with pytest.raises(InvalidConfigError, match="tempo"):
        exercise(score, 1, 2, tempo=0.0)
    with pytest.raises(InvalidConfigError, match="hand"):
        exercise(score, 1, 2, hand="feet")  # type: ignore[arg-type]


@pytest.mark.parametrize("hand", ["both", "left"])
def test_exported_exercise_played_perfectly_is_all_matched(
    score: ScoreData, tmp_path: Path, hand: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = exercise(score, 2, 4, hand=hand, tempo=0.7)  # type: ignore[arg-type]
    paths = write_exercise(ex, tmp_path / "out")
    for kind in ("midi", "musicxml"):
        written = load_score(paths[kind])
        assert len(written) == len(ex.notes)
        assert written.qpm == pytest.approx(84.0, abs=0.5)
        play_perfectly(written, tmp_path / f"perfect-{kind}.mid")
        report = assess_json(Path(paths[kind]), tmp_path / f"perfect-{kind}.mid", capsys)
        assert all_matched(report), report["metrics"]["notes"]
        assert report["metrics"]["notes"]["matched"] == len(ex.notes)


def test_from_report_follows_the_first_practice_item(score: ScoreData) -> None:
    report = {
        "feedback": [
            {"kind": "dynamics", "practice": None},
            {"kind": "notes", "practice": {"bars": [3, 4], "hand": "left", "tempo": 0.7}},
        ]
    }
    ex = from_report(score, report)
    assert ex is not None and (ex.first, ex.last, ex.hand, ex.tempo) == (3, 4, "left", 0.7)
    ex = from_report(score, report, hand="both", tempo=0.5, bars=(1, 1))
    assert ex is not None and (ex.first, ex.last, ex.hand, ex.tempo) == (1, 1, "both", 0.5)
    assert from_report(score, {"feedback": []}) is None


def test_cli_exercise_from_a_real_attempt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "Schubert_D783_no15"
    shutil.copy(DATA / "musicxml" / f"{name}.musicxml", tmp_path)
    shutil.copy(DATA / "midi" / f"{name}_p07.mid", tmp_path)
    score = tmp_path / f"{name}.musicxml"
    out = tmp_path / "exercises"
    args = [str(score), str(tmp_path / f"{name}_p07.mid"), "--json", "--exercise", str(out)]
    assert main([*args, "--bars", "5-8", "--hand", "right", "--tempo", "60"]) == 0
    report = json.loads(capsys.readouterr().out)
    ex = report["exercise"]
    assert (ex["bars"], ex["hand"], ex["tempo"]) == ([5, 8], "right", 0.6)
    assert Path(ex["midi"]).is_file() and Path(ex["musicxml"]).is_file()
    written = load_score(ex["musicxml"])
    assert len(written) == ex["notes"] and set(written.bar.tolist()) == {1, 2, 3, 4}
    play_perfectly(written, tmp_path / "again.mid")
    assert all_matched(assess_json(Path(ex["musicxml"]), tmp_path / "again.mid", capsys))
    assert main([*args, "--bars", "x-y"]) == 2
    assert "--bars" in capsys.readouterr().err
