"""Microphone path on real audio: a performance rendered with FluidSynth, replayed as a WAV
file through the engine, comes out as audio_features events with the right onsets."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

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
