"""`etude analyze AUDIO_FILE [--json]`: onsets, notes and loudness of a recording.

The file is streamed through :class:`etude_engine.StreamingAnalyser` in one-second blocks
(the same results as the live path), so memory stays small and a progress bar can be shown.
The JSON schema is in docs/cli.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import soundfile

from etude_engine import SILENCE_FLOOR_DBFS, EngineError, NoteEvent, StreamingAnalyser
from etude_engine._cli import fail, print_json

SCHEMA_VERSION = 1
PROGRESS_MIN_SECONDS = 5.0
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


class AnalyzeError(Exception):
    """A file that cannot be analysed: reported on one line, exit status 2."""


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def blocks(sf: soundfile.SoundFile, size: int) -> Iterator[np.ndarray]:
    while True:
        data = sf.read(size, dtype="float32", always_2d=True)
        if len(data) == 0:
            return
        mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
        yield np.ascontiguousarray(mono, dtype=np.float32)


class Progress:
    """A one-line bar on a terminal's stderr; silent otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = enabled
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        pct = min(100, done * 100 // self.total)
        if pct != self.shown:
            self.shown = pct
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            self.stream.write(f"\ranalysing [{bar}] {pct:3d}%")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 45 + "\r")
            self.stream.flush()


def analyse_file(path: Path, progress_stream: TextIO | None = None) -> dict[str, Any]:
    """Analyses a sound file; the documented JSON object."""
    try:
        sf = soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, RuntimeError, OSError, TypeError) as e:
        raise AnalyzeError(f"cannot read {path}: {e}") from e
    with sf:
        rate, frames, channels = sf.samplerate, sf.frames, sf.channels
        try:
            analyser = StreamingAnalyser(rate, pitch=False)
        except EngineError as e:
            raise AnalyzeError(f"cannot analyse {path}: {e}") from e
        stream = progress_stream if progress_stream is not None else sys.stderr
        show = stream.isatty() and frames > PROGRESS_MIN_SECONDS * rate
        progress = Progress(frames, stream, show)
        onsets: list[float] = []
        events: list[NoteEvent] = []
        offsets: dict[tuple[int, float], float] = {}
        onset_levels: list[dict[str, Any]] = []
        hop_rms: list[float] = []
        energy, peak, count = 0.0, 0.0, 0
        try:
            for block in blocks(sf, rate):
                if not np.isfinite(block).all():
                    raise AnalyzeError(f"cannot analyse {path}: it holds NaN or infinite samples")
                fig = analyser.process(block)
                onsets.extend(fig.onset_times)
                events.extend(fig.notes)
                for off in fig.note_offs:
                    offsets[(off.pitch, off.onset)] = off.offset
                onset_levels.extend(
                    {
                        "time": round(o.time, 4),
                        "level_dbfs": round(o.level_dbfs, 2),
                        "velocity": o.velocity,
                        "notes": o.notes,
                    }
                    for o in fig.onset_levels
                )
                hop_rms.extend(round(f.rms_dbfs, 2) for f in fig.loudness)
                energy += float(np.dot(block.astype(np.float64), block.astype(np.float64)))
                peak = max(peak, float(np.max(np.abs(block))))
                count += len(block)
                progress.update(count)
        except (soundfile.LibsndfileError, RuntimeError) as e:
            raise AnalyzeError(f"cannot read {path}: {e}") from e
        finally:
            progress.close()
        for off in analyser.finish():
            offsets[(off.pitch, off.onset)] = off.offset
    if count == 0:
        raise AnalyzeError(f"cannot analyse {path}: it holds no audio")
    duration = count / rate

    def dbfs(amplitude: float) -> float:
        if amplitude <= 0:
            return SILENCE_FLOOR_DBFS
        return round(max(SILENCE_FLOOR_DBFS, 20 * math.log10(amplitude)), 2)

    notes = [
        {
            "pitch": e.pitch,
            "name": note_name(e.pitch),
            "onset": round(e.onset, 4),
            "offset": round(offsets.get((e.pitch, e.onset), duration), 4),
            "velocity": e.velocity,
            "confidence": round(e.confidence, 3),
        }
        for e in events
    ]
    return {
        "schema": SCHEMA_VERSION,
        "file": str(path),
        "sample_rate": rate,
        "channels": channels,
        "duration": round(duration, 4),
        "onsets": [round(t, 4) for t in onsets],
        "notes": notes,
        "loudness": {
            "rms_dbfs": dbfs(math.sqrt(energy / count)),
            "peak_dbfs": dbfs(peak),
            "hop_seconds": 512 / rate,
            "frames_rms_dbfs": hop_rms,
            "onsets": onset_levels,
        },
    }


def summary(result: dict[str, Any]) -> str:
    loud = result["loudness"]
    notes = result["notes"]
    lines = [
        f"{result['file']}: {result['duration']:.1f} s, {result['sample_rate']} Hz, "
        f"{result['channels']} channel(s)",
        f"level: RMS {loud['rms_dbfs']:.1f} dBFS, peak {loud['peak_dbfs']:.1f} dBFS",
        f"onsets: {len(result['onsets'])}",
        f"notes: {len(notes)}",
    ]
    if notes:
        pitches = [n["pitch"] for n in notes]
        velocities = [n["velocity"] for n in notes]
        lines.append(
            f"range: {note_name(min(pitches))}–{note_name(max(pitches))}, "
            f"velocity {min(velocities)}–{max(velocities)} (median {int(np.median(velocities))})"
        )
        lines.append("first notes:")
        lines.extend(
            f"  {n['onset']:8.3f} s  {n['name']:<4} (MIDI {n['pitch']:3d})  "
            f"velocity {n['velocity']:3d}"
            for n in notes[:10]
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="etude analyze",
        description="Onsets, notes and loudness of a piano recording (WAV, FLAC, OGG).",
    )
    parser.add_argument("audio_file", type=Path, help="the recording")
    parser.add_argument("--json", action="store_true", help="print the JSON object (docs/cli.md)")
    args = parser.parse_args(argv)
    try:
        result = analyse_file(args.audio_file)
    except AnalyzeError as e:
        return fail("analyze", e)
    if args.json:
        print_json(result)
    else:
        print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
