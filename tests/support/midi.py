"""Small MIDI files for tests: a two-hand four-bar score and performances of given notes."""

from __future__ import annotations

from pathlib import Path

import mido

from .etude import SHARED

VIENNA = SHARED / "data" / "performances" / "vienna4x22"

# Four bars of 4/4: right-hand quarter-note melody, left-hand half notes.
MELODY = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 83, 79, 76, 72]
BASS = [48, 55, 53, 55, 48, 55, 43, 48]


def write_score_midi(path: Path, qpm: float = 120.0) -> None:
    """The little piece as a 2-track MIDI score (track 1 right hand, track 2 left hand)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    for notes, step in ((MELODY, 480), (BASS, 960)):
        track = mido.MidiTrack()
        if not mid.tracks:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm), time=0))
            track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
        for p in notes:
            track.append(mido.Message("note_on", note=p, velocity=70, time=0))
            track.append(mido.Message("note_off", note=p, velocity=0, time=step))
        mid.tracks.append(track)
    mid.save(str(path))


def write_perf_midi(path: Path, notes: list[tuple[int, float, float, int]]) -> None:
    """Notes (pitch, onset s, offset s, velocity) as a type-0 MIDI file (120 bpm, 960 ticks/s)."""
    events = []
    for p, on, off, v in notes:
        events.append((on, 1, mido.Message("note_on", note=p, velocity=v)))
        events.append((off, 0, mido.Message("note_off", note=p, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    now = 0
    for t, _, msg in events:
        tick = round(t * 960)
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.tracks.append(track)
    mid.save(str(path))
