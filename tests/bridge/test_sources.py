"""Sources read real files; bad files and missing ports get a clear, one-line error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

from etude_bridge.sources import AudioFileSource, MidiFileSource, MidiPortSource, SourceError
from etude_bridge.sources import midi as midi_module
from support.etude import count_note_ons, performance


def test_file_replay_yields_every_note_in_time_order() -> None:
    path = performance("Schubert_D783_no15_p01")
    source = MidiFileSource(path, speed=0)
    messages = list(source.messages(threading.Event()))
    notes = [
        m
        for m in messages
        if m.message is not None and m.message.type == "note_on" and m.message.velocity > 0
    ]
    assert len(notes) == count_note_ons(path)
    times = [m.time for m in messages]
    assert times == sorted(times)
    assert messages[-1].end_of_take
    # the file is 480 ticks per beat at 500000 µs: its last message sits at its real length
    assert abs(messages[-1].time - mido.MidiFile(path).length) < 1e-6


def test_replay_speed_paces_the_messages() -> None:
    path = performance("Schubert_D783_no15_p01")
    length = mido.MidiFile(path).length
    stop = threading.Event()
    source = MidiFileSource(path, speed=length / 0.5)  # whole file in about half a second
    t0 = time.monotonic()
    list(source.messages(stop))
    assert 0.4 < time.monotonic() - t0 < 2.0


def test_stop_ends_a_replay_promptly() -> None:
    source = MidiFileSource(performance(), speed=1, loop=True)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    for _ in source.messages(stop):
        pass
    assert time.monotonic() - t0 < 1.5


@pytest.mark.parametrize(
    "content", [b"", b"MThd\x00\x00\x00\x06\x00", b"not a midi file at all", b"MThd" + b"\xff" * 64]
)
def test_corrupt_midi_file_is_refused_with_its_name(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "broken.mid"
    bad.write_bytes(content)
    with pytest.raises(SourceError, match=r"broken\.mid"):
        MidiFileSource(bad)


def test_missing_midi_file() -> None:
    with pytest.raises(SourceError, match="no such MIDI file"):
        MidiFileSource(Path("/nonexistent/take.mid"))


def test_missing_port_lists_the_ports_there_are(monkeypatch: pytest.MonkeyPatch) -> None:
    # No MIDI hardware here: the port list is the one thing that cannot exist, so it is given.
    monkeypatch.setattr(midi_module.mido, "get_input_names", lambda: ["Digital Piano:0", "Thru"])
    with pytest.raises(SourceError) as caught:
        MidiPortSource("Clavinova")
    message = str(caught.value)
    assert "'Digital Piano:0'" in message and "'Thru'" in message and "\n" not in message
    assert MidiPortSource("digital").resolve() == "Digital Piano:0"


def test_a_looped_recording_marks_each_pass_and_keeps_one_clock(tmp_path: Path) -> None:
    wav = tmp_path / "take.wav"
    soundfile.write(wav, np.linspace(-0.5, 0.5, 1000, dtype=np.float32), 8000)
    stop = threading.Event()
    chunks = []
    for chunk in AudioFileSource(wav, speed=0, chunk=256, loop=True).chunks(stop):
        chunks.append(chunk)
        if len(chunks) == 12:
            stop.set()
    assert [c.end_of_take for c in chunks] == [False, False, False, True] * 3
    assert [len(c.samples) for c in chunks[:4]] == [256, 256, 256, 232]
    starts = [round(c.time * 8000) for c in chunks]
    assert starts == [0, 256, 512, 768, 1000, 1256, 1512, 1768, 2000, 2256, 2512, 2768]
    once = list(AudioFileSource(wav, speed=0, chunk=256).chunks(threading.Event()))
    assert [c.end_of_take for c in once] == [False, False, False, True]
