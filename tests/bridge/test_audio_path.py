"""Microphone path on real audio: a performance rendered with FluidSynth, replayed as a WAV
file through the engine, comes out as audio_features events with the right onsets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
import soundfile

from etude_bridge.analysis import HeardNote
from etude_bridge.assessment import SessionAssessor
from etude_bridge.controller import Bridge
from etude_bridge.outbox import Outbox
from etude_bridge.sources import AudioFileSource, SourceError
from etude_protocol import Topics
from support.audio import excerpt, render
from support.etude import performance


def merged(times: list[float], within: float = 0.03) -> list[float]:
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > within:
            out.append(t)
    return out


def test_wav_replay_gives_levels_and_onsets(tmp_path: Path) -> None:
    true_onsets = merged(
        excerpt(performance("Mozart_K331_1st-mov_p01"), 12.0, tmp_path / "clip.mid")
    )
    wav = render(tmp_path / "clip.mid", tmp_path / "clip.wav")
    outbox = Outbox(tmp_path / "outbox.db")
    bridge = Bridge(
        device_id="mic-test",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        audio=AudioFileSource(wav, speed=0),
    )
    bridge.run()

    events = [json.loads(item.payload) for item in outbox.pending(limit=10_000)]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "session_started" and kinds[-1] == "session_ended"
    windows = [e for e in events if e["kind"] == "audio_features"]
    assert len(windows) > 30
    assert max(w["rms_dbfs"] for w in windows) > -40  # the piano is heard
    start = events[0]["ts"]
    assert all(e["ts"] >= start for e in events)

    # Session times start at the first onset heard; put both on the file's clock.
    first_window_time = windows[0]["session_time"]
    detected = sorted(o for w in windows for o in w["onset_times"])
    offset = true_onsets[0] - detected[0]
    detected = [d + offset for d in detected]
    hits = sum(1 for t in true_onsets if any(abs(t - d) < 0.08 for d in detected))
    recall = hits / len(true_onsets)
    precision = sum(1 for d in detected if any(abs(t - d) < 0.08 for t in true_onsets)) / len(
        detected
    )
    assert first_window_time >= 0
    assert recall > 0.9, f"recall {recall:.2f} ({hits}/{len(true_onsets)})"
    assert precision > 0.9, f"precision {precision:.2f}"


def test_acoustic_piano_notes_come_from_the_microphone(tmp_path: Path) -> None:
    """No MIDI source: the notes the engine hears are published as note events."""
    midi_path = tmp_path / "clip.mid"
    excerpt(performance("Schubert_D783_no15_p01"), 10.0, midi_path)
    truth = [(m.note, t) for m, t in _timed_note_ons(midi_path)]
    wav = render(midi_path, tmp_path / "clip.wav")
    outbox = Outbox(tmp_path / "outbox.db")
    Bridge(
        device_id="mic-test",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        audio=AudioFileSource(wav, speed=0),
    ).run()
    events = [json.loads(item.payload) for item in outbox.pending(limit=10_000)]
    heard = [e for e in events if e["kind"] == "note_on"]
    assert heard and all(e["origin"] == "audio" for e in heard)
    assert any(e["kind"] == "note_off" for e in events)
    # Put both on one clock (the session starts at the first onset heard), then count the
    # true notes heard with the right pitch within 80 ms.
    shift = truth[0][1] - min(e["session_time"] for e in heard)
    found = sum(
        1
        for pitch, t in truth
        if any(e["pitch"] == pitch and abs(e["session_time"] + shift - t) < 0.08 for e in heard)
    )
    assert found / len(truth) > 0.5, f"{found} of {len(truth)} notes heard"


def _timed_note_ons(path: Path) -> list[tuple[mido.Message, float]]:
    out, t = [], 0.0
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((msg, t))
    return out


def test_silence_starts_no_session(tmp_path: Path) -> None:
    wav = tmp_path / "quiet.wav"
    rng = np.random.default_rng(1)
    soundfile.write(wav, (rng.standard_normal(44100 * 3) * 1e-4).astype(np.float32), 44100)
    outbox = Outbox(tmp_path / "outbox.db")
    Bridge(
        device_id="mic-test",
        topics=Topics(),
        outbox=outbox,
        mqtt=None,
        audio=AudioFileSource(wav, speed=0),
    ).run()
    assert len(outbox) == 0


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x00" * 100])
def test_corrupt_wav_is_refused_with_its_name(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "take.wav"
    bad.write_bytes(content)
    with pytest.raises(SourceError, match=r"take\.wav"):
        AudioFileSource(bad)


SCORES = Path(__file__).resolve().parents[2] / "cli" / "etude_cli" / "scores"


def _with_wrong_notes(midi: Path, out: Path, after: float, every: int) -> list[tuple[int, float]]:
    """Copies `midi` with every `every`-th note after `after` s played a semitone too high
    (its release moved with it); returns the wrong notes as (pitch, onset)."""
    source = mido.MidiFile(midi)
    wrong: list[tuple[int, float]] = []
    moved: dict[int, int] = {}  # original pitch -> pitch played, while the key is down
    count, t = 0, 0.0
    for track in source.tracks:
        for msg in track:
            t += mido.tick2second(msg.time, source.ticks_per_beat, 500000)
            if msg.type == "note_on" and msg.velocity > 0 and t > after:
                count += 1
                if count % every == 0 and msg.note < 108:
                    moved[msg.note] = msg.note + 1
                    wrong.append((msg.note + 1, t))
                    msg.note += 1
                    continue
            releases = msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0)
            if releases and msg.note in moved:
                msg.note = moved.pop(msg.note)
    source.save(out)
    return wrong


def _heard_notes(wav: Path, tmp_path: Path, library: Path | None) -> tuple[list[Any], Bridge]:
    """The notes a microphone-only bridge heard in `wav` (stream time), and the bridge."""
    heard: list[Any] = []

    class Recording(Bridge):
        assessed: Any = None  # the take as the analysis got it

        def on_heard(self, notes: Any, listener: Any = None) -> None:
            heard.extend(notes.notes)
            super().on_heard(notes, listener)

        def _analyse(self, session_id: Any, take: Any, *args: Any) -> None:
            self.assessed = take
            super()._analyse(session_id, take, *args)

    bridge = Recording(
        device_id="mic-test",
        topics=Topics(),
        outbox=Outbox(tmp_path / f"outbox-{library is not None}.db"),
        mqtt=None,
        audio=AudioFileSource(wav, speed=0),
        assessor=SessionAssessor(library, tmp_path / "cache") if library else None,
    )
    bridge.run()
    return heard, bridge


def _found(truth: list[tuple[int, float]], heard: list[Any], window: float = 0.1) -> int:
    """True notes heard with their pitch within `window` s (a chord's notes may be reported
    at its first onset), each heard note counted once."""
    used: set[int] = set()
    found = 0
    for pitch, t in truth:
        for k, note in enumerate(heard):
            if k not in used and note.pitch == pitch and abs(note.time - t) < window:
                used.add(k)
                found += 1
                break
    return found


def test_the_score_tells_the_microphone_what_to_listen_for(tmp_path: Path) -> None:
    """Once the piece is named, each expected pitch is decided by the engine's score-informed
    check: more of the notes played are heard than by blind transcription, no more false ones
    — and the notes the score did not expect (wrong notes) still come through."""
    midi = tmp_path / "clip.mid"
    excerpt(performance("Schubert_D783_no15_p01"), 30.0, midi)
    wrong = _with_wrong_notes(midi, tmp_path / "wrong.mid", after=12.0, every=12)
    truth = [(m.note, t) for m, t in _timed_note_ons(tmp_path / "wrong.mid")]
    wav = render(tmp_path / "wrong.mid", tmp_path / "clip.wav")

    blind, blind_bridge = _heard_notes(wav, tmp_path, None)
    informed, bridge = _heard_notes(wav, tmp_path, SCORES)

    assert bridge.stats.informed_notes > len(truth) / 3
    assert sum(n.informed for n in informed) == bridge.stats.informed_notes
    recall_blind = _found(truth, blind) / len(truth)
    recall_informed = _found(truth, informed) / len(truth)
    precision_blind = _found(truth, blind) / len(blind)
    precision_informed = _found(truth, informed) / len(informed)
    assert recall_informed > recall_blind + 0.08, (recall_blind, recall_informed)
    assert recall_informed > 0.88
    assert precision_informed > precision_blind - 0.03, (precision_blind, precision_informed)
    assert len(wrong) >= 5
    assert _found(wrong, informed) >= 0.6 * len(wrong), "wrong notes must still be heard"
    analysis = json.loads(
        next(
            i.payload
            for i in bridge.outbox.pending(limit=10_000)
            if b"session_analysis" in i.payload
        )
    )
    assert analysis["piece"] == "Schubert_D783_no15"
    assert analysis["wrong_pitch"] + analysis["extra"] >= 3
    # The notes heard blind before the piece was named were heard again with the score: in
    # that stretch the take assessed has more of the notes played than the live stream had.
    assert bridge.stats.heard_again >= SessionAssessor.RECOGNISE_AT[0]
    start = min(n.time for n in informed)  # the session's start, on the file's clock
    named = min(n.time for n in informed if n.informed)
    before = [(p, t) for p, t in truth if t < named - 0.1]
    live = [n for n in informed if n.time < named - 0.1]
    take = bridge.assessed  # type: ignore[attr-defined]
    again = [
        HeardNote(p, t + start)
        for p, t in zip(take.pitch, take.onset, strict=True)
        if t + start < named - 0.1
    ]
    assert len(before) >= 20
    assert _found(before, again) >= _found(before, live) + 0.05 * len(before), (
        _found(before, live),
        _found(before, again),
        len(before),
    )
    for run in (blind_bridge, bridge):
        _assert_each_note_ends_once(run)


def _assert_each_note_ends_once(bridge: Bridge) -> None:
    """On the wire every heard note-on is ended by one note-off before its key sounds again
    (the page draws a note until its end)."""
    sounding: set[int] = set()
    for item in bridge.outbox.pending(limit=10_000):
        event = json.loads(item.payload)
        if event["kind"] == "note_on":
            assert event["pitch"] not in sounding, f"struck again unended: {event}"
            sounding.add(event["pitch"])
        elif event["kind"] == "note_off":
            assert event["pitch"] in sounding, f"an ending without its note: {event}"
            sounding.remove(event["pitch"])
