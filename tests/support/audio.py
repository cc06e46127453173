"""Real audio for tests: performances rendered to WAV with Debian's FluidSynth."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mido

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def excerpt(midi: Path, seconds: float, out: Path) -> list[float]:
    """Write the first `seconds` of a performance to `out`; return its note-on times."""
    source = mido.MidiFile(midi)
    track = mido.MidiTrack()
    onsets: list[float] = []
    t = 0.0
    pending_ticks = 0
    for msg in source:  # seconds
        t += msg.time
        pending_ticks += round(mido.second2tick(msg.time, source.ticks_per_beat, 500000))
        if t > seconds:
            break
        if msg.is_meta:
            continue
        if msg.type == "note_on" and msg.velocity > 0:
            onsets.append(t)
        track.append(msg.copy(time=pending_ticks))
        pending_ticks = 0
    for note in range(128):  # release everything at the cut
        track.append(mido.Message("note_off", note=note, time=0))
    out_file = mido.MidiFile(ticks_per_beat=source.ticks_per_beat)
    out_file.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    out_file.tracks[0].extend(track)
    out_file.save(out)
    return onsets


def render(
    midi: Path,
    wav: Path,
    sample_rate: int = 44100,
    soundfont: Path = SOUNDFONT,
    timeout: float = 120,
) -> Path:
    fluidsynth = shutil.which("fluidsynth")
    assert fluidsynth and soundfont.exists(), (
        f"need fluidsynth and {soundfont}: run scripts/setup.sh"
    )
    subprocess.run(
        [
            fluidsynth,
            "-ni",
            "-q",
            "-g",
            "0.8",
            "-r",
            str(sample_rate),
            "-F",
            str(wav),
            str(soundfont),
            str(midi),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    return wav
