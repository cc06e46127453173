"""The bridge's session analysis: the piece recognised from its score library and assessed,
or free-play figures; real Vienna 4x22 performances and scores."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest

from etude_bridge.assessment import MIN_NOTES, SessionAssessor, TakeRecorder
from etude_bridge.controller import Bridge
from etude_bridge.outbox import Outbox
from etude_bridge.sources.midi import MidiFileSource
from etude_protocol import (
    NoteOn,
    PieceRecognised,
    PositionsRevised,
    SessionAnalysis,
    Topics,
    decode_event,
    utc_now,
)
from support.midi import VIENNA


def recorded(midi: Path, first: int = 0, count: int | None = None) -> TakeRecorder:
    """A TakeRecorder fed the file's notes as the controller feeds it, in session seconds."""
    take = TakeRecorder()
    t = 0.0
    seen = 0
    for msg in mido.MidiFile(midi):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            seen += 1
            if seen <= first or (count is not None and seen > first + count):
                continue
            take.note_on(t, msg.note, msg.velocity, msg.channel)
        elif msg.type in ("note_on", "note_off"):
            take.note_off(t, msg.note, msg.channel)
    return take.finish()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    for piece in ("Mozart_K331_1st-mov", "Schubert_D783_no15"):
        shutil.copy(VIENNA / "musicxml" / f"{piece}.musicxml", folder)
    return folder


@pytest.fixture(scope="module")
def assessor(library: Path, tmp_path_factory: pytest.TempPathFactory) -> SessionAssessor:
    assessor = SessionAssessor(library, cache_dir=tmp_path_factory.mktemp("cache"))
    assessor.warm_up()
    return assessor


def test_take_recorder_pairs_notes_and_closes_the_hanging_ones() -> None:
    take = TakeRecorder()
    take.note_on(0.0, 60, 80)
    take.note_on(0.5, 64, 70)
    take.note_off(1.0, 60)
    take.note_on(1.2, 64, 90)  # struck again before its release: the first one ends here
    take.note_off(1.0, 99)  # a release without its note: ignored
    take.finish()
    assert take.pitch == [60, 64, 64]
    assert take.offset[:2] == [1.0, 1.2]
    assert take.offset[2] == 1.2  # still down at the end: closed at the last event
    assert not any(math.isnan(o) for o in take.offset)


def test_a_library_piece_is_named_and_assessed(assessor: SessionAssessor) -> None:
    take = recorded(VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid")
    fields = assessor.analyse(take)
    assert fields is not None
    assert fields["score"] == "Mozart_K331_1st-mov.musicxml"
    assert fields["first_bar"] == 1 and fields["confidence"] > 0.8
    assert fields["pitch_accuracy"] > 0.95 and fields["overall_score"] > 80
    assert fields["missed"] + fields["wrong_pitch"] + fields["extra"] < 10
    # The fields make a valid protocol message, feedback included.
    event = SessionAnalysis(
        device_id="room-1", seq=1, ts=utc_now(), session_id=__import__("uuid").uuid4(), **fields
    )
    assert event.piece == fields["piece"]


def test_a_passage_is_placed_in_the_piece(assessor: SessionAssessor) -> None:
    take = recorded(VIENNA / "midi" / "Schubert_D783_no15_p01.mid", first=120, count=150)
    fields = assessor.analyse(take)
    assert fields is not None and fields["score"] == "Schubert_D783_no15.musicxml"
    # Not called missed: the 14 bars before the passage. (This pianist leaves out a few inner
    # notes: 14 in the whole take, 7 of them in these bars.)
    assert fields["first_bar"] == 15 and fields["missed"] <= 8


def test_a_piece_not_in_the_library_gets_free_play_figures(assessor: SessionAssessor) -> None:
    take = recorded(VIENNA / "midi" / "Chopin_op10_no3_p01.mid")
    fields = assessor.analyse(take)
    assert fields is not None and "piece" not in fields
    assert fields["tempo_bpm"] is not None and 0 <= fields["dynamics_range"] <= 1


def test_no_library_means_free_play_and_a_short_take_means_nothing(tmp_path: Path) -> None:
    bare = SessionAssessor(None)
    take = recorded(VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid", count=60)
    fields = bare.analyse(take)
    assert fields is not None and fields["tempo_bpm"] is not None
    short = recorded(VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid", count=MIN_NOTES - 1)
    assert bare.analyse(short) is None


def test_a_broken_score_in_the_library_is_skipped(tmp_path: Path, library: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(library, folder)
    (folder / "broken.musicxml").write_text("<score-partwise><part>")
    assessor = SessionAssessor(folder, cache_dir=tmp_path / "cache")
    take = recorded(VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid")
    fields = assessor.analyse(take)
    assert fields is not None and fields["score"] == "Mozart_K331_1st-mov.musicxml"


def outbox_events(outbox: Outbox) -> list[Any]:
    events, after = [], 0
    while batch := outbox.pending(after, 1000):
        events += [decode_event(item.payload) for item in batch]
        after = batch[-1].seq
    return events


def replayed(midi: Path, library: Path, tmp_path: Path, speed: float = 10) -> list[Any]:
    """The events a bridge with `library` sends for `midi` replayed at `speed` × real time."""
    outbox = Outbox(tmp_path / "outbox.db")
    bridge = Bridge(
        device_id="room-1",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        midi=MidiFileSource(midi, speed=speed),
        assessor=SessionAssessor(library, cache_dir=tmp_path / "cache"),
    )
    bridge.run()
    return outbox_events(outbox)


def test_a_session_is_followed_live_once_its_piece_is_named(library: Path, tmp_path: Path) -> None:
    events = replayed(VIENNA / "midi" / "Schubert_D783_no15_p01.mid", library, tmp_path)
    kinds = [e.kind for e in events]
    named = next(e for e in events if isinstance(e, PieceRecognised))
    assert named.score == "Schubert_D783_no15.musicxml" and named.bar == 1
    assert kinds.index("piece_recognised") < kinds.index("session_ended")
    notes = [e for e in events if isinstance(e, NoteOn)]
    placed = [n.position for n in notes if n.position is not None]
    first_placed = next(k for k, n in enumerate(notes) if n.position is not None)
    # Named after the first notes it looked at; every note since has its place.
    assert (
        first_placed <= SessionAssessor.RECOGNISE_AT[1] and len(placed) == len(notes) - first_placed
    )
    matched = [p for p in placed if p.label == "match"]
    assert len(matched) >= 0.95 * len(placed)
    bars = [p.bar for p in matched]
    assert bars[-1] == max(bars) >= 30  # it follows to the end of the piece
    # The analysis at the end names the same piece, without looking it up again.
    analysis = next(e for e in events if isinstance(e, SessionAnalysis))
    assert analysis.score == named.score and analysis.overall_score is not None


def test_a_replay_as_fast_as_it_goes_waits_for_the_look_up(library: Path, tmp_path: Path) -> None:
    # At speed 0 the notes would outrun the look-up on the worker, and following would start
    # wherever it caught up: in lockstep it starts on the note after the look-up's evidence,
    # and two runs send the same positions.
    midi = VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid"
    runs = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        events = replayed(midi, library, tmp_path / run, speed=0)
        runs.append([e.position for e in events if isinstance(e, NoteOn)])
    first_placed = next(k for k, p in enumerate(runs[0]) if p is not None)
    assert first_placed in SessionAssessor.RECOGNISE_AT
    assert runs[0] == runs[1]


def _restarted(midi: Path, out: Path, stop: int, back: int) -> Path:
    """`midi` played up to its note `stop`, then again from note `stop - back` (a restart
    from an earlier bar, half a second after the stop) to the end: a new MIDI file."""
    notes: list[tuple[float, float, int, int]] = []  # onset, offset, pitch, velocity
    t, sounding = 0.0, {}
    for msg in mido.MidiFile(midi):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[msg.note] = (t, msg.velocity)
        elif msg.type in ("note_on", "note_off") and msg.note in sounding:
            onset, velocity = sounding.pop(msg.note)
            notes.append((onset, t, msg.note, velocity))
    notes.sort()
    gap = notes[stop][0] - notes[stop - back][0] + 0.5
    played = notes[:stop] + [(a + gap, b + gap, p, v) for a, b, p, v in notes[stop - back :]]
    timeline = sorted(
        [(a, 1, p, v) for a, _, p, v in played] + [(b, 0, p, 0) for _, b, p, _ in played]
    )
    track, now = mido.MidiTrack(), 0.0
    for at, on, pitch, velocity in timeline:  # 480 ticks a beat at 120 bpm: 960 a second
        kind = "note_on" if on else "note_off"
        track.append(
            mido.Message(kind, note=pitch, velocity=velocity, time=round((at - now) * 960))
        )
        now = at
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(out)
    return out


def test_notes_placed_anew_by_the_follower_are_revised(library: Path, tmp_path: Path) -> None:
    # Schubert's waltz with a restart: 40 notes again after the 150th. The follower takes the
    # restart's first notes for extra (or for later notes) until it sees the restart, then
    # places them anew: a positions_revised event tells which note_on, by seq, goes where.
    midi = _restarted(
        VIENNA / "midi" / "Schubert_D783_no15_p01.mid", tmp_path / "restart.mid", 150, 40
    )
    events = replayed(midi, library, tmp_path)
    notes = {e.seq: e for e in events if isinstance(e, NoteOn)}
    revised = [e for e in events if isinstance(e, PositionsRevised)]
    assert revised
    for event in revised:
        for r in event.revisions:  # each names an earlier note_on published with a place
            assert r.seq < event.seq and notes[r.seq].position is not None
    # Applied in order, the revisions put the restart's first notes in the bars replayed.
    final = {seq: n.position for seq, n in notes.items()}
    for event in revised:
        final.update({r.seq: r.position for r in event.revisions})
    order = sorted(notes)
    restart = order[150]  # the first note played again
    was_extra = [s for s in order[150:156] if notes[s].position.label == "extra"]
    assert was_extra and all(final[s].label == "match" for s in was_extra)
    bars_before = max(final[s].bar for s in order[140:150])
    assert final[restart].bar < bars_before
    extra = sum(1 for s in order[150:] if final[s].label == "extra")
    assert extra <= 0.03 * len(order[150:])


def _heard_with_doubtful_partials(
    bridge: Bridge, take: TakeRecorder, partial_confidence: float
) -> None:
    """Feeds the bridge, as its microphone path does, the take's notes (heard surely) with
    a doubtful octave-and-a-fifth 'partial' beside each of them, as blind transcription
    takes partials for notes."""
    from etude_bridge.analysis import Heard, HeardNote

    for pitch, onset, velocity in zip(take.pitch, take.onset, take.velocity, strict=True):
        notes = [HeardNote(pitch, onset, velocity, confidence=0.95)]
        if pitch + 19 <= 108:
            notes.append(HeardNote(pitch + 19, onset, 30, confidence=partial_confidence))
        bridge.on_heard(Heard(notes=notes))
    bridge.finish_analyses()


@pytest.mark.parametrize("partial_confidence", [0.6, 0.95])
def test_heard_notes_the_engine_doubts_do_not_hide_the_piece(
    library: Path, tmp_path: Path, partial_confidence: float
) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    bridge = Bridge(
        device_id="room-mic",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        assessor=SessionAssessor(library, cache_dir=tmp_path / "cache"),
    )
    bridge._warmed_up.result()
    take = recorded(VIENNA / "midi" / "Mozart_K331_1st-mov_p01.mid", count=120)
    _heard_with_doubtful_partials(bridge, take, partial_confidence)
    named = [e for e in outbox_events(outbox) if isinstance(e, PieceRecognised)]
    if partial_confidence < 0.8:  # doubted: the piece is named from the sure notes alone
        assert [e.score for e in named] == ["Mozart_K331_1st-mov.musicxml"]
    else:  # the same partials taken as sure notes hide it: what the check above guards
        assert named == []


def test_score_groups_say_which_chord_comes_next(assessor: SessionAssessor) -> None:
    from etude_bridge.assessment import Recognition, ScoreGroups

    groups = ScoreGroups.of([0.0, 0.0, 1.0, 1.5, 1.5, 1.5], [60, 48, 62, 67, 64, 55])
    assert groups.after(-0.5) == (48, 60)  # a pickup rest: the first chord
    assert groups.after(0.0) == (62,)
    assert groups.after(1.2) == (55, 64, 67)  # between chords: the next one, low to high
    assert groups.after(1.5) == ()  # the end of the piece
    assert groups.place_at(1.0) is None  # no bars given: no places
    placed = ScoreGroups.of([0.0, 0.0, 1.0], [60, 48, 62], bar=[1, 1, 1], beat=[1.0, 1.0, 2.0])
    assert placed.place_of_note(2) == (1, 2.0) and placed.place_of_note(3) is None
    assert placed.place_at(0.0) == (1, 1.0) and placed.place_at(1.4) == (1, 2.0)
    assert placed.place_at(-1.0) is None
    # A real score: every chord's pitches, in score order, once each.
    piece = assessor.groups(Recognition("Mozart_K331_1st-mov.musicxml", "", 1, 1.0, 8))
    assert list(piece.onset_q) == sorted(set(piece.onset_q)) and len(piece.onset_q) > 100
    assert piece.after(piece.onset_q[0] - 1) == piece.pitches[0]


def test_a_take_replaces_a_stretch_with_the_same_stretch_heard_again() -> None:
    live = TakeRecorder()
    live.note_on(0.0, 59, 40)  # before the stretch heard again: stays
    live.note_on(1.0, 60, 50)
    live.note_on(1.5, 61, 50)  # heard blind: a wrong pitch that was not played
    live.note_off(1.9, 60)
    live.note_on(3.0, 67, 70)  # after the cut: stays, still sounding
    again = TakeRecorder()
    again.note_on(0.2, 57, 30)  # heard again, but before the stretch: not taken
    again.note_on(1.0, 60, 52)
    again.note_on(1.5, 64, 48)  # still sounding at the cut
    again.note_off(1.8, 60)
    again.note_on(3.1, 67, 70)  # past the cut: not taken
    live.replace_between(0.5, 2.5, again)
    assert live.pitch == [59, 60, 64, 67]
    assert live.onset == [0.0, 1.0, 1.5, 3.0] and live.velocity == [40, 52, 48, 70]
    live.note_off(4.0, 64)
    live.note_off(4.5, 67)
    live.note_off(4.6, 59)
    assert live.finish().offset == [4.6, 1.8, 4.0, 4.5]


def test_the_listener_keeps_the_last_seconds_of_audio() -> None:
    from etude_bridge.analysis import Listener
    from etude_bridge.sources.base import AudioChunk

    listener = Listener(8000, keep_seconds=1.0)
    for k in range(30):  # 3 s in 0.1 s chunks, each filled with its number
        listener.push(AudioChunk(k / 10, np.full(800, k / 100, dtype=np.float32), 8000))
    start, kept = listener.recording(since=0.0)
    assert start == pytest.approx(2.0) and len(kept) == 8000  # the last second only
    assert kept[0] == pytest.approx(0.20) and kept[-1] == pytest.approx(0.29)
    start, kept = listener.recording(since=2.55)
    assert start == pytest.approx(2.5) and len(kept) == 4000
    assert len(Listener(8000, keep_seconds=0).recording(since=0.0)[1]) == 0


def test_the_listener_expects_only_pitches_a_piano_has() -> None:
    """A score's pitch outside the piano (an organ's pedal note, a bad file) is not expected:
    the engine would refuse the whole expectation."""
    from etude_bridge.analysis import Listener
    from etude_engine import InvalidConfigError

    listener = Listener(8000)
    with pytest.raises(InvalidConfigError):
        listener.analyser.expect([10, 60])
    listener.expect([10, 60, 200])  # no error: 60 is expected, the others are left out
    listener.expect([])
