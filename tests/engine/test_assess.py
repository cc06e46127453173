"""Assessment: score import, offline alignment, metrics, feedback and ``etude assess``.

Small synthetic cases assert the behaviour; one real Vienna 4x22 performance (copied to a
temporary folder) checks the whole path against its ground truth.
"""

from __future__ import annotations

import collections
import json
import math
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from etude_engine import (
    EngineError,
    InvalidConfigError,
    InvalidPerformanceError,
    InvalidScoreError,
    Score,
    align,
)
from etude_engine.assess import align_performance, assess, feedback
from etude_engine.cli_assess import main
from etude_engine.scores import (
    COLUMNS,
    Performance,
    ScoreData,
    load_performance,
    load_score,
    load_score_cached,
    performance_from_notes,
)
from support.midi import BASS, MELODY, VIENNA, write_perf_midi, write_score_midi

DATA = VIENNA  # ../shared beside the project, as in CI (see tests/support)


def played(spq: float = 0.5) -> list[tuple[int, float, float, int]]:
    """The piece played evenly: (pitch, onset, offset, velocity)."""
    notes = [(p, 1.0 + k * spq, 1.0 + (k + 0.9) * spq, 80) for k, p in enumerate(MELODY)]
    notes += [(p, 1.0 + 2 * k * spq, 1.0 + (2 * k + 1.8) * spq, 60) for k, p in enumerate(BASS)]
    return notes


def perf_of(notes: list[tuple[int, float, float, int]]) -> Performance:
    return performance_from_notes(
        [n[0] for n in notes], [n[1] for n in notes], [n[2] for n in notes], [n[3] for n in notes]
    )


@pytest.fixture
def score_mid(tmp_path: Path) -> Path:
    path = tmp_path / "piece.mid"
    write_score_midi(path)
    return path


# -- score import --------------------------------------------------------------


def test_midi_score_import(score_mid: Path) -> None:
    sd = load_score(score_mid)
    assert len(sd) == 24
    assert sorted(sd.pitch.tolist()) == sorted(MELODY + BASS)
    assert sd.qpm == pytest.approx(120.0)
    assert sd.onset_s.max() == pytest.approx(7.5)
    # Hands from the tracks: the melody is the right hand.
    right = {int(p) for p, h in zip(sd.pitch, sd.hand, strict=True) if h == 0}
    assert right == set(MELODY)
    assert sorted(set(sd.bar.tolist())) == [1, 2, 3, 4]
    assert len(set(sd.ids)) == len(sd.ids)


def test_a_cached_score_is_the_score(tmp_path: Path) -> None:
    source = tmp_path / "mozart.musicxml"
    shutil.copy(DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml", source)
    parsed = load_score_cached(source, tmp_path / "cache")
    cached = load_score_cached(source, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    assert cached.ids == parsed.ids and cached.title == parsed.title
    assert cached.time_signature == parsed.time_signature and cached.qpm == parsed.qpm
    for name in COLUMNS:
        assert np.array_equal(getattr(cached, name), getattr(parsed, name), equal_nan=True), name
    take = load_performance(DATA / "midi" / "Mozart_K331_1st-mov_p01.mid")
    assert assess(cached, take)["metrics"] == assess(parsed, take)["metrics"]
    # A changed file is parsed again; a broken one says so, cache or not.
    source.write_text("<score-partwise><part>")
    with pytest.raises(InvalidScoreError, match=r"mozart\.musicxml"):
        load_score_cached(source, tmp_path / "cache")


def test_cli_keeps_the_parsed_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    score = DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml"
    take = DATA / "midi" / "Mozart_K331_1st-mov_p01.mid"
    assert main([str(score), str(take), "--json", "--no-cache"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert not cache.exists()
    assert main([str(score), str(take), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == fresh
    kept = list((cache / "etude").glob("score-*.npz"))
    assert len(kept) == 1
    # The next take reads the kept score: the same report, and no second file.
    stamp = kept[0].stat().st_mtime_ns
    assert main([str(score), str(take), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == fresh
    assert [p.stat().st_mtime_ns for p in (cache / "etude").glob("score-*.npz")] == [stamp]


def test_an_unwritable_cache_does_not_stop_an_assessment(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    sd = load_score_cached(DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml", blocked / "etude")
    assert len(sd) == 482
    assert list(tmp_path.iterdir()) == [blocked]


def test_musicxml_import_keeps_partitura_ids() -> None:
    sd = load_score(DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml")
    assert len(sd) == 482
    assert "n1-1" in sd.ids and "n1-2" in sd.ids
    assert set(sd.hand.tolist()) == {0, 1}
    assert sd.qpm == pytest.approx(72.0)
    chopin = load_score(DATA / "musicxml" / "Chopin_op10_no3.musicxml")
    # Markings: the piece starts p.
    assert chopin.dynamic[0] == pytest.approx(0.3)
    assert chopin.grace.sum() == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("piece.pdf", b"%PDF", "unsupported score format '.pdf'"),
        ("broken.musicxml", b"<score-partwise><part", "cannot read score"),
        ("broken.mid", b"MThd\x00\x00", "cannot read score"),
        ("empty.xml", b"", "cannot read score"),
    ],
)
def test_bad_score_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidScoreError) as info:
        load_score(path)
    text = str(info.value)
    assert str(path) in text and message in text
    assert "\n" not in text


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidScoreError, match="no such file"):
        load_score(tmp_path / "nothing.musicxml")
    with pytest.raises(InvalidPerformanceError, match="no such file"):
        load_performance(tmp_path / "nothing.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(InvalidPerformanceError, match="not a readable MIDI file"):
        load_performance(bad)


def test_performance_is_sorted_by_onset_then_pitch(tmp_path: Path) -> None:
    path = tmp_path / "p.mid"
    write_perf_midi(path, [(64, 1.0, 1.5, 50), (60, 1.0, 1.5, 60), (55, 0.5, 2.0, 70)])
    perf = load_performance(path)
    assert perf.pitch.tolist() == [55, 60, 64]
    assert perf.onset_s.tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert perf.velocity.tolist() == [70, 60, 50]


# -- the engine ----------------------------------------------------------------


def test_score_model_validation() -> None:
    cols: dict[str, Any] = dict(
        pitch=[60],
        onset_q=[0.0],
        duration_q=[1.0],
        onset_s=[0.0],
        duration_s=[0.5],
        bar=[1],
        beat=[1.0],
        hand=[0],
        voice=[1],
        grace=[False],
        ornament=[False],
        dynamic=[math.nan],
    )
    assert len(Score(**cols)) == 1
    with pytest.raises(InvalidScoreError, match="pitch"):
        Score(**{**cols, "pitch": [200]})
    with pytest.raises(InvalidScoreError, match="onset_q"):
        Score(**{**cols, "onset_q": [math.inf]})
    with pytest.raises(InvalidScoreError, match="no notes"):
        Score(**{k: [] for k in cols})
    with pytest.raises(InvalidConfigError, match="column `bar`"):
        Score(**{**cols, "bar": [1, 2]})
    assert issubclass(InvalidScoreError, EngineError) and issubclass(InvalidScoreError, ValueError)


def test_alignment_labels_and_timing(score_mid: Path) -> None:
    sd = load_score(score_mid)
    notes = played()
    notes[3] = (notes[3][0] + 1, *notes[3][1:])  # wrong pitch (a semitone up)
    del notes[6]  # missed melody note
    notes.append((90, 1.0 + 9.5 * 0.5, 1.0 + 9.9 * 0.5, 80))  # extra
    notes[10] = (notes[10][0], notes[10][1] + 0.12, notes[10][2] + 0.12, 80)  # 120 ms late
    perf = perf_of(notes)
    a = align_performance(sd, perf)
    final = {
        sd.ids[int(i)]: lab
        for i, lab, f in zip(a.note_score_index, a.note_label, a.note_is_final, strict=True)
        if f
    }
    counts = {lab: list(final.values()).count(lab) for lab in set(final.values())}
    assert counts == {"match": 22, "wrong_pitch": 1, "missed": 1}
    assert a.perf_label.count("extra") == 1
    by_note = dict(zip(a.note_score_index.tolist(), a.note_timing_dev_s.tolist(), strict=True))
    late = [d for d in by_note.values() if not math.isnan(d) and abs(d) > 0.05]
    # Measured against the neighbours' line: the slip in full, the others barely moved.
    assert late == [pytest.approx(0.12, abs=1e-6)]
    m = a.metrics()
    assert m["pitch_accuracy"] == pytest.approx(22 / 25)
    assert m["right"]["missed"] == 1 and m["left"]["missed"] == 0
    assert len(m["bars"]) == 4


def test_restart_from_an_earlier_bar_is_matched(score_mid: Path) -> None:
    sd = load_score(score_mid)
    first = [n for n in played() if n[1] < 1.0 + 8 * 0.5]  # bars 1-2
    again = [
        (p, on + 5.0 - 0.5 * 4 + 4.0, off + 5.0 - 0.5 * 4 + 4.0, v)  # from bar 2 on
        for p, on, off, v in played()
        if on >= 1.0 + 4 * 0.5
    ]
    perf = perf_of(first + again)
    a = align_performance(sd, perf)
    assert a.perf_label.count("extra") == 0
    assert len(a.segment_starts) == 2
    final = [lab for lab, f in zip(a.note_label, a.note_is_final, strict=True) if f]
    assert final.count("match") == 24


def test_bad_performance_values(score_mid: Path) -> None:
    sd = load_score(score_mid)
    with pytest.raises(InvalidPerformanceError, match="offset_s"):
        align(sd.model, [60], [1.0], [0.5], [64])
    with pytest.raises(InvalidPerformanceError, match="velocity"):
        align(sd.model, [60], [1.0], [1.5], [300])
    with pytest.raises(InvalidConfigError, match="sigma_s"):
        align(sd.model, [60], [1.0], [1.5], [64], sigma_s=-1.0)


# -- report, feedback and the command ---------------------------------------------


def test_feedback_names_bars_and_hand(score_mid: Path) -> None:
    sd = load_score(score_mid)
    bass_bar3 = {(p, on) for p, on, *_ in played() if p in BASS and 5.0 <= on < 7.0}
    notes = [n for n in played() if (n[0], n[1]) not in bass_bar3]  # left hand misses bar 3
    report = assess(sd, perf_of(notes))
    top = report["feedback"][0]
    assert top["kind"] == "notes" and top["hand"] == "left" and top["bars"] == [3, 3]
    assert top["message"].startswith("Bar 3, left hand: 2 missed notes")
    # Deterministic.
    assert feedback(report["metrics"], report["bars"]) == report["feedback"]


def test_clean_attempt_has_no_note_feedback(score_mid: Path) -> None:
    sd = load_score(score_mid)
    report = assess(sd, perf_of(played()))
    assert report["metrics"]["pitch_accuracy"] == 1.0
    assert report["metrics"]["rhythm_accuracy"] == 1.0
    assert [f for f in report["feedback"] if f["kind"] in ("notes", "tempo", "rhythm")] == []


def test_a_passage_is_assessed_as_a_passage(score_mid: Path) -> None:
    # Bars 2-3 only (the piece is 4 bars at 2 s a bar, from t = 1 s): nothing else is missed.
    sd = load_score(score_mid)
    notes = [n for n in played() if 3.0 <= n[1] < 7.0]
    report = assess(sd, perf_of(notes))
    assert report["attempt"] == {"first_bar": 2, "last_bar": 3, "whole_score": False}
    assert report["metrics"]["notes"]["missed"] == 0
    assert report["metrics"]["pitch_accuracy"] == 1.0
    assert {int(sd.bar[sd.ids.index(e["score_note_id"])]) for e in report["alignment"]} == {2, 3}
    # Stopping inside bar 3: the notes not reached are not missed either.
    report = assess(sd, perf_of([n for n in notes if n[1] < 5.6]))
    assert report["metrics"]["notes"]["missed"] == 0
    assert report["attempt"]["last_bar"] == 3


def test_a_passage_from_a_repeated_section_is_placed_where_it_was_played() -> None:
    # The middle third of a Mozart take: its first bars are also the music of bars 1-3, where
    # the first alignment puts them; the passage with the most notes decides.
    sd = load_score(DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml")
    take = load_performance(DATA / "midi" / "Mozart_K331_1st-mov_p01.mid")
    a, b = len(take) // 3, 2 * len(take) // 3
    t0 = float(take.onset_s[a])
    passage = performance_from_notes(
        take.pitch[a:b].tolist(),
        (take.onset_s[a:b] - t0).tolist(),
        (take.offset_s[a:b] - t0).tolist(),
        take.velocity[a:b].tolist(),
    )
    report = assess(sd, passage)
    assert report["attempt"]["first_bar"] > 3 and not report["attempt"]["whole_score"]
    assert report["metrics"]["notes"]["missed"] <= 2
    assert [f for f in report["feedback"] if f["kind"] == "notes"] == []


def test_a_whole_take_is_whole() -> None:
    sd = load_score(DATA / "musicxml" / "Mozart_K331_1st-mov.musicxml")
    report = assess(sd, load_performance(DATA / "midi" / "Mozart_K331_1st-mov_p01.mid"))
    assert report["attempt"]["whole_score"] is True
    assert len({e["score_note_id"] for e in report["alignment"]} - {None}) == len(sd)


def _vienna_take(pianist: str) -> tuple[ScoreData, Performance]:
    sd = load_score(DATA / "musicxml" / "Schubert_D783_no15.musicxml")
    return sd, load_performance(DATA / "midi" / f"Schubert_D783_no15_{pianist}.mid")


def _bar_starts(sd: ScoreData, perf: Performance) -> dict[int, float]:
    """Each bar's first performed onset, from the alignment's matches."""
    a = align_performance(sd, perf)
    starts: dict[int, float] = {}
    for si, lab, pi in zip(a.note_score_index, a.note_label, a.note_perf_index, strict=True):
        if lab == "match":
            bar = int(sd.bar[si])
            starts[bar] = min(starts.get(bar, math.inf), float(perf.onset_s[pi]))
    return starts


def _retimed(perf: Performance, onsets: Any, offsets: Any) -> Performance:
    order = np.lexsort((perf.pitch, onsets))
    return Performance(
        perf.path, perf.pitch[order], onsets[order], offsets[order], perf.velocity[order]
    )


def _chords(onsets: Any) -> list[Any]:
    """Index arrays of the notes struck together (within 30 ms of the chord's first note)."""
    order = np.argsort(onsets)
    chords: list[list[int]] = []
    for i in order:
        if chords and onsets[i] - onsets[chords[-1][0]] < 0.03:
            chords[-1].append(int(i))
        else:
            chords.append([int(i)])
    return [np.array(c) for c in chords]


def test_professional_rubato_draws_no_tempo_or_rhythm_feedback() -> None:
    # The old rule (12 % off the median) told this pianist bars 9–10 "dragged −19 %".
    sd, perf = _vienna_take("p05")
    report = assess(sd, perf)
    assert [f for f in report["feedback"] if f["kind"] in ("tempo", "rhythm")] == []
    assert all("timing_irregularity" in b for b in report["bars"])


def _bars_12_to_14_dragged(sd: ScoreData, perf: Performance) -> Performance:
    """`perf` with bars 12–14 played at 60 % of its tempo."""
    starts = _bar_starts(sd, perf)
    t0, t1 = starts[12], starts[15]

    def warp(t: Any) -> Any:
        return np.where(
            t < t0, t, np.where(t < t1, t0 + (t - t0) / 0.6, t + (t1 - t0) * (1 / 0.6 - 1))
        )

    return _retimed(perf, warp(perf.onset_s), warp(perf.offset_s))


def test_dragged_bars_are_named() -> None:
    sd, perf = _vienna_take("p05")
    report = assess(sd, _bars_12_to_14_dragged(sd, perf))
    tempo = [f for f in report["feedback"] if f["kind"] == "tempo"]
    assert tempo and "dragged" in tempo[0]["message"]
    first, last = tempo[0]["bars"]
    assert first <= 14 and last >= 12
    # Marks a metronome has: 80 % of the player's tempo, then the tempo, in one note value.
    marks = re.search(r"metronome at (\d+) to the (\w+), then (\d+)", tempo[0]["message"])
    assert marks, tempo[0]["message"]
    slow, unit, usual = int(marks[1]), marks[2], int(marks[3])
    assert 40 <= slow < usual <= 208 and slow == pytest.approx(0.8 * usual, abs=1)
    qpm = tempo[0]["evidence"]["median_qpm"]
    assert usual == round(qpm / {"quarter": 1, "eighth": 0.5, "half": 2}[unit])


def test_a_slow_tempo_is_clicked_in_eighths() -> None:
    sd, perf = _vienna_take("p05")
    # The same take at a fifth of its speed: quarters too slow for a metronome.
    slow = Performance(perf.path, perf.pitch, perf.onset_s * 5, perf.offset_s * 5, perf.velocity)
    report = assess(sd, _bars_12_to_14_dragged(sd, slow))
    tempo = [f for f in report["feedback"] if f["kind"] == "tempo" and "dragged" in f["message"]]
    assert tempo and "to the eighth" in tempo[0]["message"], report["feedback"]


def test_uneven_bar_is_named() -> None:
    sd, perf = _vienna_take("p05")
    starts = _bar_starts(sd, perf)
    onsets, offsets = perf.onset_s.copy(), perf.offset_s.copy()
    rng = np.random.default_rng(1)
    inside = np.flatnonzero((onsets >= starts[20]) & (onsets < starts[21] - 0.05))
    # A stumbling hand: the bar's chords in turn late and early by 70-150 ms.
    for k, chord in enumerate(_chords(onsets[inside])):
        shift = rng.uniform(0.07, 0.15) * (-1) ** k
        onsets[inside[chord]] += shift
        offsets[inside[chord]] += shift
    report = assess(sd, _retimed(perf, onsets, offsets))
    rhythm = [f for f in report["feedback"] if f["kind"] == "rhythm"]
    assert [20, 20] in [f["bars"] for f in rhythm], rhythm


def _matched_notes(sd: ScoreData, perf: Performance) -> list[tuple[int, int]]:
    """(score note, performed note) of each final match."""
    a = align_performance(sd, perf)
    return [
        (int(si), int(pi))
        for si, lab, pi, fin in zip(
            a.note_score_index, a.note_label, a.note_perf_index, a.note_is_final, strict=True
        )
        if lab == "match" and fin
    ]


def test_professionals_follow_the_dynamics_and_strike_chords_together() -> None:
    # Note by note, every one of these 22 takes once "hardly followed the markings".
    sd = load_score(DATA / "musicxml" / "Chopin_op10_no3.musicxml")
    for take in sorted(DATA.glob("midi/Chopin_op10_no3_p*.mid")):
        report = assess(sd, load_performance(take))
        assert report["metrics"]["dynamics_following"] > 0.3, take.name
        assert "dynamics" not in [f["kind"] for f in report["feedback"]], take.name


def test_dynamics_against_the_markings_are_named() -> None:
    sd = load_score(DATA / "musicxml" / "Chopin_op10_no3.musicxml")
    perf = load_performance(DATA / "midi" / "Chopin_op10_no3_p05.mid")
    velocity = perf.velocity.astype(float)
    mean_level = float(np.nanmean(sd.dynamic))
    # Loud where the score asks for soft and soft where it asks for loud.
    for si, pi in _matched_notes(sd, perf):
        velocity[pi] += 150 * (mean_level - sd.dynamic[si])
    turned = Performance(
        perf.path, perf.pitch, perf.onset_s, perf.offset_s, np.clip(velocity, 1, 127).astype(int)
    )
    report = assess(sd, turned)
    assert report["metrics"]["dynamics_following"] < 0
    dynamics = [f for f in report["feedback"] if f["kind"] == "dynamics"]
    assert dynamics and "hardly follows the markings" in dynamics[0]["message"]


def test_a_hands_uneven_chords_are_named() -> None:
    sd, perf = _vienna_take("p05")
    assert "chords" not in [f["kind"] for f in assess(sd, perf)["feedback"]]
    chords: dict[tuple[float, int], list[int]] = collections.defaultdict(list)
    for si, pi in _matched_notes(sd, perf):
        chords[(float(sd.onset_q[si]), int(sd.hand[si]))].append(pi)
    onsets, offsets = perf.onset_s.copy(), perf.offset_s.copy()
    # Each hand's chords rolled from the bottom, 40 ms a note.
    for notes in chords.values():
        for k, pi in enumerate(sorted(notes, key=lambda pi: int(perf.pitch[pi]))):
            onsets[pi] += 0.04 * k
            offsets[pi] += 0.04 * k
    report = assess(sd, _retimed(perf, onsets, offsets))
    assert report["metrics"]["hand_chord_spread_ms"] > 35
    hands = report["metrics"]["hands"]
    assert hands["right"]["chord_spread_ms"] > 35 and hands["left"]["chord_spread_ms"] > 35
    item = next(f for f in report["feedback"] if f["kind"] == "chords")
    assert item["hand"] is None and "both hands" in item["message"]
    first, last = item["bars"]
    assert item["practice"] == {"bars": [first, last], "hand": "both", "tempo": 0.6}
    run = [b for b in report["bars"] if first <= b["bar"] <= last]
    assert (run[0]["chord_spread_ms"] or 0) > 35 and (run[-1]["chord_spread_ms"] or 0) > 35


def test_chords_feedback_names_the_hand_and_its_bars() -> None:
    # Figures of a take whose left hand alone strikes its chords apart, in bars 5-7 most.
    sd, perf = _vienna_take("p05")
    report = assess(sd, perf)
    metrics, bars = report["metrics"], report["bars"]
    metrics["hand_chord_spread_ms"] = 40.0
    metrics["hands"]["right"]["chord_spread_ms"] = 20.0
    metrics["hands"]["left"]["chord_spread_ms"] = 60.0
    for b in bars:
        b["left"]["chord_spread_ms"] = 70.0 if 5 <= b["bar"] <= 7 else 20.0
        b["left"]["chord_spread_ms"] = 50.0 if b["bar"] == 12 else b["left"]["chord_spread_ms"]
    item = next(f for f in feedback(metrics, bars) if f["kind"] == "chords")
    assert item["hand"] == "left"
    assert item["bars"] == [5, 7]
    assert item["message"].startswith("Bars 5–7, left hand: the notes of a chord start 60 ms apart")
    assert item["practice"] == {"bars": [5, 7], "hand": "left", "tempo": 0.6}
    assert item["evidence"]["left_chord_spread_ms"] == 60.0


def test_cli_json_shape(
    score_mid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    perf = tmp_path / "take.mid"
    notes = played()
    write_perf_midi(perf, [*notes[:5], *notes[6:], (90, 3.2, 3.4, 80)])
    assert main([str(score_mid), str(perf), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"metrics", "bars", "feedback", "alignment"}
    assert set(out["metrics"]) >= {
        "pitch_accuracy",
        "rhythm_accuracy",
        "dynamics_range",
        "overall_score",
    }
    for entry in out["alignment"]:
        assert set(entry) == {"score_note_id", "performance_note", "label", "timing_deviation_ms"}
        assert entry["label"] in {"match", "wrong_pitch", "missed", "extra"}
        if entry["performance_note"] is not None:
            assert set(entry["performance_note"]) == {"index", "pitch", "onset_s"}
    labels = [e["label"] for e in out["alignment"]]
    assert labels.count("missed") == 1 and labels.count("extra") == 1
    extra = next(e for e in out["alignment"] if e["label"] == "extra")
    assert extra["score_note_id"] is None and extra["performance_note"]["pitch"] == 90
    # The index counts notes sorted by onset, then pitch.
    loaded = load_performance(perf)
    k = extra["performance_note"]["index"]
    assert int(loaded.pitch[k]) == 90


def test_cli_text_and_errors(
    score_mid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    perf = tmp_path / "take.mid"
    write_perf_midi(perf, played())
    assert main([str(score_mid), str(perf)]) == 0
    out = capsys.readouterr().out
    assert "pitch accuracy   1.000" in out and "assessed         the whole score" in out
    write_perf_midi(perf, [n for n in played() if 3.0 <= n[1] < 7.0])
    assert main([str(score_mid), str(perf)]) == 0
    assert "assessed         bars 2–3 (the passage played)" in capsys.readouterr().out
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<nope")
    assert main([str(bad), str(perf)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("etude assess: ") and str(bad) in err and "\n" not in err


def test_real_performance_against_ground_truth(tmp_path: Path) -> None:
    import partitura as pt

    for sub, name in (
        ("musicxml", "Schubert_D783_no15.musicxml"),
        ("midi", "Schubert_D783_no15_p01.mid"),
        ("match", "Schubert_D783_no15_p01.match"),
    ):
        shutil.copy(DATA / sub / name, tmp_path / name)
    sd = load_score(tmp_path / "Schubert_D783_no15.musicxml")
    perf = load_performance(tmp_path / "Schubert_D783_no15_p01.mid")
    report = assess(sd, perf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt_perf, gt = pt.load_match(str(tmp_path / "Schubert_D783_no15_p01.match"))
    pn = gt_perf.note_array()
    # Join the MIDI's notes to the match file's on (pitch, onset), as the data README says.
    key = {(int(n["pitch"]), round(float(n["onset_sec"]), 2)): str(n["id"]) for n in pn}
    truth = {(a["score_id"], a["performance_id"]) for a in gt if a["label"] == "match"}
    got = set()
    for e in report["alignment"]:
        if e["label"] == "match":
            p = e["performance_note"]
            got.add((e["score_note_id"], key.get((p["pitch"], round(p["onset_s"], 2)))))
    assert len(got & truth) / len(truth) > 0.98
    assert len(got & truth) / len(got) > 0.98
